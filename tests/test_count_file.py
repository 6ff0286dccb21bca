"""maskkit.count_file: counting 8-bit PNGs while decoding them gives exactly the table of
count_table(read_mask(path)), for every PNG filter type, and the same errors."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskkit.core.count import count_table
from maskkit.datasets.counting import count_file
from maskkit.errors import MaskkitIOError
from maskkit.io.masks import read_mask
from tests.naive_label import naive_count_semantic
from tests.test_io_png import _chunk, _filter_rows


def _label_png(mask: np.ndarray, filters, palette: bool = False) -> bytes:
    h, w = mask.shape
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3 if palette else 0, 0, 0, 0))]
    if palette:
        chunks.append(_chunk(b"PLTE", bytes(range(256)) * 3))
    rows = _filter_rows(mask.reshape(h, w, 1), filters)
    chunks += [_chunk(b"IDAT", zlib.compress(rows)), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


@st.composite
def label_pngs(draw):
    """A blocky mask (runs, and rows repeating the row above, as in real label maps, plus
    noise where drawn), its PNG with a drawn filter per row, grey or palette."""
    h = draw(st.integers(1, 40))
    w = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = np.array(draw(st.sampled_from([(0, 1), (0, 1, 2, 255), (0, 7, 200, 255)])),
                      np.uint8)
    bh, bw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    coarse = rng.choice(values, (-(-h // bh), -(-w // bw)))
    mask = np.repeat(np.repeat(coarse, bh, 0), bw, 1)[:h, :w]
    if draw(st.booleans()):  # sprinkle single pixels
        mask = np.where(rng.random((h, w)) < 0.1, rng.choice(values, (h, w)), mask)
    filters = draw(st.lists(st.integers(0, 4), min_size=h, max_size=h))
    return mask.astype(np.uint8), _label_png(mask, filters, draw(st.booleans()))


@given(
    case=label_pngs(),
    connectivity=st.sampled_from([4, 8]),
    min_area=st.integers(0, 6),
    ignore=st.sampled_from([(255,), (), (1, 255)]),
)
def test_count_file_equals_count_table_of_the_decoded_mask(
    tmp_path_factory, case, connectivity, min_area, ignore
):
    mask, data = case
    path = tmp_path_factory.mktemp("cf") / "m.png"
    path.write_bytes(data)
    np.testing.assert_array_equal(read_mask(path), mask)
    got = count_file(path, connectivity=connectivity, min_area=min_area, ignore=ignore)
    assert got == count_table(mask, connectivity=connectivity, min_area=min_area, ignore=ignore)
    assert got == naive_count_semantic(mask, connectivity, min_area, ignore)
    assert list(got) == sorted(got)


@st.composite
def wide_label_pngs(draw):
    """Wide rows of long runs, so that most filtered rows have few non-zero bytes and take
    the kernel's run-edit paths (Up, Sub, Paeth) rather than its byte path."""
    h = draw(st.integers(2, 24))
    w = draw(st.integers(64, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 8))):
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        y1, x1 = y0 + int(rng.integers(1, h + 1)), x0 + int(rng.integers(1, w // 2))
        # slanted edges: each row's span moves a little, as object outlines do
        for y in range(y0, min(y1, h)):
            shift = (y - y0) * int(rng.integers(-2, 3))
            mask[y, max(x0 + shift, 0):max(x1 + shift, 0)] = rng.choice([1, 2, 3, 255])
    filters = draw(st.lists(st.sampled_from([0, 1, 2, 2, 2, 3, 4, 4]), min_size=h,
                            max_size=h))
    return mask, _label_png(mask, filters, draw(st.booleans()))


@given(case=wide_label_pngs(), connectivity=st.sampled_from([4, 8]))
def test_wide_masks_of_long_runs(tmp_path_factory, case, connectivity):
    mask, data = case
    path = tmp_path_factory.mktemp("cfw") / "m.png"
    path.write_bytes(data)
    expected = count_table(mask, connectivity=connectivity)
    assert count_file(path, connectivity=connectivity) == expected
    assert expected == naive_count_semantic(mask, connectivity, 0, (255,))


def test_many_components_grow_the_label_buffers(tmp_path):
    # a checkerboard: every pixel of value 1 is its own 4-connected component (and all
    # join 8-connected), far more provisional labels than the kernel starts with
    mask = (np.indices((300, 301)).sum(0) % 2).astype(np.uint8)
    path = tmp_path / "c.png"
    path.write_bytes(_label_png(mask, [y % 5 for y in range(300)]))
    for connectivity in (4, 8):
        expected = count_table(mask, connectivity=connectivity)
        assert count_file(path, connectivity=connectivity) == expected
    assert count_file(path, connectivity=4)[1] == (45150, 45150)


def test_other_files_and_kinds_go_through_read_mask(tmp_path):
    mask = np.array([[1, 1, 0, 300], [0, 0, 0, 300], [1, 0, 2, 0]], np.uint16)
    npy = tmp_path / "m.npy"
    np.save(npy, mask)
    assert count_file(npy) == count_table(mask) == {1: (2, 3), 2: (1, 1), 300: (1, 2)}
    png16 = tmp_path / "m16.png"
    from PIL import Image

    Image.fromarray(mask).save(png16)  # 16-bit grey: not the 8-bit path
    assert count_file(png16) == count_table(mask)
    assert count_file(npy, kind="instance") == count_table(mask, kind="instance")
    volume = np.zeros((3, 4, 5), np.uint8)
    volume[0, 0, 0] = volume[1, 1, 1] = volume[2, 3, 4] = 1
    np.save(npy, volume)  # a 3-D .npy takes 3-D connectivities
    assert count_file(npy, connectivity=26) == {1: (2, 3)}
    assert count_file(npy, connectivity=6) == {1: (3, 3)}
    png8 = tmp_path / "m8.png"
    png8.write_bytes(_label_png((mask % 7).astype(np.uint8), [0, 1, 2]))
    assert count_file(png8, kind="instance") == count_table(mask % 7, kind="instance")


def test_bad_filter_byte_names_the_file(tmp_path):
    mask = np.zeros((3, 5), np.uint8)
    rows = bytearray(_filter_rows(mask.reshape(3, 5, 1), [0, 0, 0]))
    rows[6] = 9  # the second row's filter type
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 3, 8, 0, 0, 0, 0))
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + _chunk(b"IDAT", zlib.compress(bytes(rows)))
                     + _chunk(b"IEND", b""))
    with pytest.raises(MaskkitIOError, match=r"bad\.png.*bad filter bytes"):
        count_file(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "file not found"), (b"", "file is empty"), (b"\x89PNG\r\n\x1a\nxx", "PNG")],
)
def test_unreadable_files_get_read_masks_error(tmp_path, content, message):
    path = tmp_path / "m.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MaskkitIOError, match=message) as counted:
        count_file(path)
    with pytest.raises(MaskkitIOError) as read:
        read_mask(path)
    assert str(counted.value) == str(read.value)
    assert "m.png" in str(counted.value)


def test_truncated_image_data_is_refused(tmp_path):
    mask = np.arange(60, dtype=np.uint8).reshape(6, 10)
    data = _label_png(mask, [1] * 6)
    start = data.index(b"IDAT") + 4
    body = zlib.compress(_filter_rows(mask.reshape(6, 10, 1), [1] * 6))
    short = zlib.compress(_filter_rows(mask[:4].reshape(4, 10, 1), [1] * 4))
    path = tmp_path / "short.png"
    path.write_bytes(data[:start - 8] + _chunk(b"IDAT", short) + _chunk(b"IEND", b""))
    assert len(body) != len(short)
    with pytest.raises(MaskkitIOError, match="short.png"):
        count_file(path)
