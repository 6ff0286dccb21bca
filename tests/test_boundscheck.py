"""Kernels compiled with bounds checking, fed hostile input: no index may leave its array.

Numba does not check bounds by default, so an out-of-range write would corrupt memory
silently. Here the shared bounds-check subprocess (tests/conftest.py) compiles every kernel
it touches with ``MASKKIT_BOUNDSCHECK=1`` (an IndexError instead of a silent write) and
runs random hostile polygons, RLEs and paints through the public API.
"""

from __future__ import annotations

import textwrap

import pytest

SCRIPT = textwrap.dedent(
    r"""
    import numpy as np
    import maskkit
    from maskkit.errors import MaskkitError

    rng = np.random.default_rng(12345)
    done = 0
    for it in range(400):
        h, w = (int(v) for v in rng.integers(0, 12, 2))
        kind = it % 4
        if kind == 0:  # wild polygons: far, huge, tiny, degenerate
            k = int(rng.integers(3, 9))
            scale = float(rng.choice([1, 20, 1e4, 1e7]))
            seg = [(rng.standard_normal(2 * k) * scale).tolist()]
        elif kind == 1:  # integer and half-integer vertices on edges of the image
            k = int(rng.integers(3, 7))
            seg = [(rng.integers(-2, 14, 2 * k) / 2).tolist()]
        elif kind == 2:  # random RLE counts, valid or not
            counts = rng.integers(0, 6, int(rng.integers(0, 8))).tolist()
            seg = {"size": [h, w], "counts": counts}
        else:  # random compressed strings
            s = bytes(rng.integers(48, 112, int(rng.integers(0, 10))).astype(np.uint8))
            seg = {"size": [h, w], "counts": s.decode("ascii")}
        for mode in ("coco",):
            try:
                m = maskkit.polygon_to_mask(seg, h, w, mode=mode)
                assert m.shape == (h, w)
                out = np.zeros((h, w), np.int32)
                maskkit.paint_polygons(out, [seg, seg], [1, 2])
                if h and w and isinstance(seg, list):
                    rle = maskkit.polygon_to_rle(seg, h, w)
                    maskkit.rle_decode(rle)
                    maskkit.rle_to_bbox(rle)
                done += 1
            except MaskkitError:
                pass
        coco = {"images": [{"id": 1, "height": h, "width": w}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": seg},
                                {"id": 2, "image_id": 1, "category_id": 2, "segmentation": seg,
                                 "iscrowd": 1}],
                "categories": [{"id": 1}, {"id": 2}]}
        for overlap in ("last", "area", "void"):
            try:
                maskkit.coco_to_semantic(coco, 1, overlap=overlap, crowd="ignore")
            except MaskkitError:
                pass
    for _ in range(200):
        m = (rng.random(tuple(int(v) for v in rng.integers(0, 9, 2))) < 0.5)
        assert (maskkit.rle_decode(maskkit.rle_encode(m)) == m).all()
    print("ok", done)
    """
)


@pytest.mark.boundscheck(SCRIPT)
def test_kernels_stay_in_bounds_on_hostile_input(boundscheck):
    assert boundscheck.startswith("ok")
    assert int(boundscheck.split()[1]) > 100


COUNT_PNG_SCRIPT = textwrap.dedent(
    r"""
    import os, struct, sys, tempfile, zlib
    import numpy as np
    from maskkit import count_file
    from maskkit.errors import MaskkitError

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rng = np.random.default_rng(2024)
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "m.png")
    done = 0
    for it in range(300):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        mask = rng.choice(np.array([0, 1, 2, 255], np.uint8), (h, w))
        if it % 2:  # runs and repeated rows
            mask = np.repeat(mask[: max(h // 3, 1)], 3, 0)[:h]
            mask = np.repeat(mask[:, : max(w // 4, 1)], 4, 1)[:, :w]
            h, w = mask.shape
        # random filter bytes (some invalid) on top of the raw rows, so the unfiltered
        # values are arbitrary bytes: any row content, any run layout
        rows = np.concatenate([rng.integers(0, 6 if it % 3 == 0 else 5, (h, 1)),
                               mask], 1).astype(np.uint8)
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
        with open(path, "wb") as fh:
            fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(rows.tobytes())) + chunk(b"IEND", b""))
        for connectivity in (4, 8):
            try:
                count_file(path, connectivity=connectivity)
                done += 1
            except MaskkitError:
                pass
    print("ok", done)
    """
)


@pytest.mark.boundscheck(COUNT_PNG_SCRIPT)
def test_png_counting_kernel_stays_in_bounds(boundscheck):
    assert boundscheck.startswith("ok")
    assert int(boundscheck.split()[1]) > 200
