"""maskkit.io.png.read_png_rgb_fast against Pillow, on PNGs written with every filter type."""

from __future__ import annotations

import struct
import zlib

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from maskkit.errors import MaskkitIOError
from maskkit.io.png import read_png_rgb_fast


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _filter_rows(img: np.ndarray, filters) -> bytes:
    """The PNG scanline stream of ``img`` (H, W, C) with ``filters[y]`` on row ``y``."""
    h, w, bpp = img.shape
    x = img.reshape(h, w * bpp).astype(np.int32)
    out = bytearray()
    for y in range(h):
        up = x[y - 1] if y else np.zeros(w * bpp, np.int32)
        left = np.concatenate([np.zeros(bpp, np.int32), x[y, :-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int32), up[:-bpp]])
        f = filters[y]
        pred = [0 * left, left, up, (left + up) // 2, _paeth(left, up, upleft)][f]
        out.append(f)
        out += ((x[y] - pred) & 0xFF).astype(np.uint8).tobytes()
    return bytes(out)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png(img: np.ndarray, filters, n_idat=1) -> bytes:
    h, w, bpp = img.shape
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2 if bpp == 3 else 6, 0, 0, 0)
    data = zlib.compress(_filter_rows(img, filters))
    cut = len(data) // n_idat or 1
    idats = [data[i:i + cut] for i in range(0, len(data), cut)]
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + b"".join(_chunk(b"IDAT", d) for d in idats) + _chunk(b"IEND", b""))


@st.composite
def images_and_filters(draw):
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    bpp = draw(st.sampled_from([3, 4]))
    # few distinct values: flat runs as in label maps, plus noise where drawn
    img = draw(hnp.arrays(np.uint8, (h, w, bpp),
                          elements=st.sampled_from([0, 1, 2, 127, 128, 200, 254, 255])
                          | st.integers(0, 255)))
    filters = draw(st.lists(st.integers(0, 4), min_size=h, max_size=h))
    return img, filters, draw(st.integers(1, 3))


@given(images_and_filters())
def test_fast_reader_matches_pillow_for_every_filter(tmp_path_factory, case):
    img, filters, n_idat = case
    path = tmp_path_factory.mktemp("png") / "a.png"
    path.write_bytes(_png(img, filters, n_idat))
    got = read_png_rgb_fast(path)
    want = np.asarray(Image.open(path).convert("RGB"))
    assert got.dtype == np.uint8 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, img[..., :3])


def test_large_image_every_filter(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 4, (64, 300, 3), dtype=np.uint8) * 60
    img[:, 100:200] = rng.integers(0, 256, (64, 100, 3))
    filters = [y % 5 for y in range(64)]
    (tmp_path / "a.png").write_bytes(_png(img, filters))
    np.testing.assert_array_equal(read_png_rgb_fast(tmp_path / "a.png"), img)


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "LA"])
def test_other_pngs_go_through_pillow(tmp_path, mode):
    arr = np.arange(12, dtype=np.uint16 if mode == "I;16" else np.uint8).reshape(3, 4)
    img = Image.fromarray(arr) if mode != "LA" else Image.fromarray(arr).convert("LA")
    if mode == "P":
        img = img.convert("P")
    img.save(tmp_path / "a.png")
    want = np.asarray(Image.open(tmp_path / "a.png").convert("RGB"))
    np.testing.assert_array_equal(read_png_rgb_fast(tmp_path / "a.png"), want)


def test_bad_filter_byte_and_missing_file(tmp_path):
    img = np.zeros((2, 2, 3), np.uint8)
    good = _png(img, [0, 0])
    raw = bytearray(_filter_rows(img, [0, 0]))
    raw[0] = 5
    bad = good[:33] + _chunk(b"IDAT", zlib.compress(bytes(raw))) + _chunk(b"IEND", b"")
    (tmp_path / "bad.png").write_bytes(bad)
    with pytest.raises(MaskkitIOError, match="bad.png"):
        read_png_rgb_fast(tmp_path / "bad.png")
    with pytest.raises(MaskkitIOError, match="not found"):
        read_png_rgb_fast(tmp_path / "missing.png")


def _with_stream(img, stream: bytes) -> bytes:
    """A PNG of ``img``'s header whose IDAT holds ``stream`` (a zlib stream, maybe broken)."""
    good = _png(img, [0] * img.shape[0])
    return good[:33] + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


@pytest.mark.parametrize("damage, message", [
    (lambda z: z[:-4] + bytes([z[-4] ^ 1]) + z[-3:], "checksum"),  # wrong Adler-32
    (lambda z: z[:len(z) // 2], "truncated|corrupt"),  # deflate stream cut
    (lambda z: bytes([z[0] ^ 0x0F]) + z[1:], "zlib header"),  # not deflate
    (lambda z: bytes([z[0], z[1] | 0x20]) + z[2:], "zlib header"),  # preset dictionary
    (lambda z: z[:2], "truncated|corrupt"),
    (lambda z: b"", "zlib header"),
])
def test_corrupt_zlib_streams_are_refused(tmp_path, damage, message):
    img = (np.arange(6 * 5 * 3) % 251).astype(np.uint8).reshape(6, 5, 3)
    z = zlib.compress(_filter_rows(img, [1] * 6))
    (tmp_path / "c.png").write_bytes(_with_stream(img, damage(z)))
    with pytest.raises(MaskkitIOError, match=message) as info:
        read_png_rgb_fast(tmp_path / "c.png")
    assert "c.png" in str(info.value)


def test_a_stream_cut_inside_the_checksum_is_refused_as_zlib_does(tmp_path):
    img = (np.arange(6 * 5 * 3) % 251).astype(np.uint8).reshape(6, 5, 3)
    z = zlib.compress(_filter_rows(img, [1] * 6))
    for cut in (1, 2, 3, 4):  # issue 17: zlib says "incomplete or truncated stream"
        with pytest.raises(zlib.error):
            zlib.decompress(z[:-cut])
        (tmp_path / "c.png").write_bytes(_with_stream(img, z[:-cut]))
        with pytest.raises(MaskkitIOError, match=f"{cut} byte.*short of its Adler-32"):
            read_png_rgb_fast(tmp_path / "c.png")


@pytest.mark.parametrize("extra_rows", [-1, 1])
def test_image_data_of_the_wrong_length_is_refused(tmp_path, extra_rows):
    img = np.zeros((4, 3, 3), np.uint8)
    rows = _filter_rows(np.zeros((4 + extra_rows, 3, 3), np.uint8), [0] * (4 + extra_rows))
    (tmp_path / "n.png").write_bytes(_with_stream(img, zlib.compress(rows)))
    with pytest.raises(MaskkitIOError, match=r"the 40 bytes|expected 40"):
        read_png_rgb_fast(tmp_path / "n.png")


@given(st.binary(max_size=20000), st.integers(0, 20000))
def test_adler32_kernel_equals_zlib(data, start):
    from maskkit._kernels.png import adler32

    # long runs as well as noise, and every length around the 4096-byte blocks
    buf = np.frombuffer(data + b"\xff" * (start % 9000), dtype=np.uint8)
    assert adler32(buf) == zlib.adler32(buf.tobytes())


@st.composite
def grey_images_and_filters(draw):
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    kind = draw(st.sampled_from(["L", "P", "I;16"]))
    if kind == "I;16":
        img = draw(hnp.arrays(np.uint16, (h, w), elements=st.sampled_from([0, 1, 255, 256, 65535])
                              | st.integers(0, 65535)))
        samples = img.astype(">u2").view(np.uint8).reshape(h, w, 2)
    else:
        img = draw(hnp.arrays(np.uint8, (h, w), elements=st.sampled_from([0, 1, 2, 255])
                              | st.integers(0, 255)))
        samples = img.reshape(h, w, 1)
    filters = draw(st.lists(st.integers(0, 4), min_size=h, max_size=h))
    return kind, img, samples, filters


@given(grey_images_and_filters())
def test_grey_palette_and_16_bit_pngs_decode_exactly(tmp_path_factory, case):
    from maskkit.io.png import read_png

    kind, img, samples, filters = case
    h, w = img.shape
    depth, ctype = {"L": (8, 0), "P": (8, 3), "I;16": (16, 0)}[kind]
    # the PNG filters act on bytes, with the pixel's byte count as the left distance:
    # _filter_rows does exactly that for an (H, W, bytes per pixel) array
    rows = _filter_rows(samples, filters)
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))]
    if kind == "P":
        chunks.append(_chunk(b"PLTE", bytes(range(256)) * 3))
    chunks += [_chunk(b"IDAT", zlib.compress(rows)), _chunk(b"IEND", b"")]
    path = tmp_path_factory.mktemp("grey") / "g.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(chunks))
    got = read_png(path)
    assert got.dtype == img.dtype
    np.testing.assert_array_equal(got, img)
    with Image.open(path) as pil:  # Pillow reads the same file the same way
        np.testing.assert_array_equal(np.asarray(pil).astype(img.dtype), img)
