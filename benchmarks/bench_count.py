"""Counting objects in semantic PNGs of a realistic size: ``maskkit count`` over 2000
generated 640×480 masks with 1 and 2 workers, and the cost of counting on top of decoding.

Run::

    pytest benchmarks/bench_count.py --benchmark-only --benchmark-columns=median,iqr,rounds \
        --benchmark-group-by=group

Case ``count 2000 PNGs 640×480, decode vs decode+count`` (one process, no CLI): ``maskkit``
counts every PNG as ``maskkit count`` does, with ``count_file`` (8-connected components
per class; an 8-bit PNG is counted from its filtered rows, see
``maskkit/_kernels/countpng.py``); ``decode-only`` reads them with maskkit's reader
(``read_mask``, the whole image as an array) and ``decode-only-pillow`` with Pillow.
Target: counting adds at most 25 % to decoding, i.e. decode time / ``maskkit`` time >= 0.8;
the table checks it against both decoders (maskkit's reader is itself ~3× faster than
Pillow on these files, which makes the ratio against it the harder one).

Case ``batch: maskkit count, 2000 PNGs 640×480``: the CLI with ``--workers 2``
(``maskkit``) and ``--workers 1`` (``1_worker``), run in a fresh spawned interpreter, as
from a shell (``_cli_server.py`` says why not in the pytest process).  Target: 2 workers >= 1.7× the
throughput of one.  Each run's exit status is checked, and after the rounds that the last
one wrote rows for every image (outside the timing, which is the CLI job alone).

The masks are a few classes of overlapping disks on background 0 (5-30 disks of radius
5-60), written once per session with a fixed seed.
"""

from __future__ import annotations

import numpy as np
import pytest

N_IMAGES = 2000
H, W = 480, 640
GROUP_DECODE = f"count {N_IMAGES} PNGs {W}×{H}, decode vs decode+count"
GROUP_WORKERS = f"batch: maskkit count, {N_IMAGES} PNGs {W}×{H}"


@pytest.fixture(scope="module")
def pngs(tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("count640")
    rng = np.random.default_rng(640)
    yy, xx = np.mgrid[:H, :W]
    paths = []
    for i in range(N_IMAGES):
        mask = np.zeros((H, W), np.uint8)
        for _ in range(int(rng.integers(5, 31))):
            cy, cx, r = rng.integers(0, H), rng.integers(0, W), rng.integers(5, 61)
            y0, y1, x0, x1 = max(cy - r, 0), min(cy + r, H), max(cx - r, 0), min(cx + r, W)
            inside = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 < r * r
            mask[y0:y1, x0:x1][inside] = rng.integers(1, 8)
        path = folder / f"{i:04d}.png"
        Image.fromarray(mask).save(path)
        paths.append(path)
    return folder, paths


def _decode_all(paths):
    from maskkit.io.masks import read_mask

    total = 0
    for path in paths:
        total += read_mask(path).shape[0]
    assert total == H * len(paths)


def _decode_and_count_all(paths):
    from maskkit.datasets.counting import count_file

    objects = 0
    for path in paths:
        table = count_file(path, kind="semantic", connectivity=8)
        objects += sum(n for n, _ in table.values())
    assert objects > len(paths)


def test_decode_and_count(benchmark, impl, pngs):
    _, paths = pngs
    benchmark.group = GROUP_DECODE
    impl("maskkit")
    _decode_and_count_all(paths[:10])  # compile / load the kernels
    benchmark.pedantic(_decode_and_count_all, args=(paths,), rounds=5, iterations=1,
                       warmup_rounds=1)
    benchmark.extra_info["ms_per_image"] = round(1e3 * benchmark.stats.stats.median
                                                 / N_IMAGES, 3)


def _decode_all_pillow(paths):
    from PIL import Image

    total = 0
    for path in paths:
        with Image.open(path) as img:
            total += np.asarray(img).shape[0]
    assert total == H * len(paths)


def test_decode_only_pillow(benchmark, impl, pngs):
    _, paths = pngs
    benchmark.group = GROUP_DECODE
    impl("decode-only-pillow")
    benchmark.pedantic(_decode_all_pillow, args=(paths,), rounds=5, iterations=1,
                       warmup_rounds=1)
    benchmark.extra_info["ms_per_image"] = round(1e3 * benchmark.stats.stats.median
                                                 / N_IMAGES, 3)


def test_decode_only(benchmark, impl, pngs):
    _, paths = pngs
    benchmark.group = GROUP_DECODE
    impl("decode-only")
    _decode_all(paths[:10])
    benchmark.pedantic(_decode_all, args=(paths,), rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["ms_per_image"] = round(1e3 * benchmark.stats.stats.median
                                                 / N_IMAGES, 3)


def _count_cli(server, folder, out, workers):
    code = server.run(["count", folder, "--kind", "semantic", "-o", out, "--quiet",
                       "--workers", workers])
    assert code == 0


def _check_output(out):
    with open(out, "rb") as fh:
        images = {line.split(b",", 1)[0] for line in fh} - {b"image"}
    assert len(images) == N_IMAGES


@pytest.mark.parametrize("workers", [2, 1])
def test_count_cli_workers(benchmark, impl, pngs, tmp_path, cli_server, workers):
    folder, _ = pngs
    benchmark.group = GROUP_WORKERS
    impl("maskkit" if workers == 2 else "1_worker")
    benchmark.pedantic(_count_cli, args=(cli_server, folder, tmp_path / "c.csv", workers),
                       rounds=9, iterations=1, warmup_rounds=1)
    _check_output(tmp_path / "c.csv")  # the last round's rows (outside the timing)
    benchmark.extra_info["images_per_s"] = round(N_IMAGES / benchmark.stats.stats.median, 1)
