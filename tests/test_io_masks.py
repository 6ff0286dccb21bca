"""Tests for maskkit.io.masks: every format round-trips, bad files get clear errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import maskkit
from maskkit.errors import ImageTooLargeError, MaskkitIOError
from maskkit.io import masks
from maskkit.io.masks import READERS, expand_inputs, read_mask
from maskkit.io.png import write_label_png

LABELS = np.array([[0, 1, 1, 255], [2, 2, 0, 7]], dtype=np.uint8)


# --- round trips ------------------------------------------------------------------------
def test_grey_png(tmp_path):
    write_label_png(tmp_path / "m.png", LABELS)
    got = read_mask(tmp_path / "m.png")
    assert got.dtype == np.uint8 and np.array_equal(got, LABELS)


def test_palette_png_gives_indices_not_colours(tmp_path):
    write_label_png(tmp_path / "m.png", LABELS, palette=True)
    with Image.open(tmp_path / "m.png") as img:
        assert img.mode == "P"
    assert np.array_equal(read_mask(tmp_path / "m.png"), LABELS)


def test_16bit_png(tmp_path):
    labels = np.array([[0, 300], [65535, 1]], dtype=np.uint16)
    write_label_png(tmp_path / "m.png", labels)
    got = read_mask(tmp_path / "m.png")
    assert got.dtype == np.uint16 and np.array_equal(got, labels)


def test_one_bit_png(tmp_path):
    Image.fromarray(LABELS > 1).save(tmp_path / "m.png")
    assert np.array_equal(read_mask(tmp_path / "m.png"), (LABELS > 1).astype(np.uint8))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.uint32, np.int64])
def test_tiff(tmp_path, dtype):
    labels = LABELS.astype(dtype)
    tifffile.imwrite(tmp_path / "m.tif", labels)
    got = read_mask(tmp_path / "m.tif")
    assert got.dtype == dtype and np.array_equal(got, labels)


def test_tiff_single_channel_is_squeezed_and_first_page_read(tmp_path):
    tifffile.imwrite(tmp_path / "m.tiff", LABELS[:, :, None], photometric="minisblack")
    assert np.array_equal(read_mask(tmp_path / "m.tiff"), LABELS)
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tif:
        tif.write(LABELS)
        tif.write(LABELS + 1)
    assert np.array_equal(read_mask(tmp_path / "pages.tif"), LABELS)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint32, np.int64, np.bool_])
def test_npy(tmp_path, dtype):
    labels = LABELS.astype(dtype)
    np.save(tmp_path / "m.npy", labels)
    got = read_mask(tmp_path / "m.npy")
    assert got.dtype == dtype and np.array_equal(got, labels)


def test_npy_single_channel_is_squeezed_and_volumes_kept(tmp_path):
    np.save(tmp_path / "c.npy", LABELS[:, :, None])
    assert np.array_equal(read_mask(tmp_path / "c.npy"), LABELS)
    volume = np.stack([LABELS, LABELS])
    np.save(tmp_path / "v.npy", volume)
    assert read_mask(tmp_path / "v.npy").shape == (2, 2, 4)


def test_suffix_is_case_insensitive(tmp_path):
    write_label_png(tmp_path / "M.PNG", LABELS)
    assert np.array_equal(read_mask(tmp_path / "M.PNG"), LABELS)


@settings(max_examples=40)
@given(
    labels=hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.uint16]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    ),
    suffix=st.sampled_from([".png", ".tif", ".npy"]),
)
def test_any_label_image_round_trips(tmp_path_factory, labels, suffix):
    path = tmp_path_factory.mktemp("rt") / f"m{suffix}"
    if suffix == ".png":
        write_label_png(path, labels)
    elif suffix == ".tif":
        tifffile.imwrite(path, labels)
    else:
        np.save(path, labels)
    got = read_mask(path)
    assert got.shape == labels.shape and np.array_equal(got, labels)


# --- bad files --------------------------------------------------------------------------
def _message(path, exc_type=MaskkitIOError) -> str:
    with pytest.raises(exc_type) as info:
        read_mask(path)
    assert info.value.source == str(path)
    assert str(info.value).startswith(f"{path}: ")
    return str(info.value)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA"])
def test_colour_png_is_refused_with_a_hint(tmp_path, mode):
    Image.new(mode, (4, 3)).save(tmp_path / "rgb.png")
    msg = _message(tmp_path / "rgb.png")
    assert "colour PNG" in msg and "--kind panoptic" in msg and "convert" in msg


def test_empty_file(tmp_path):
    for name in ["e.png", "e.tif", "e.npy"]:
        (tmp_path / name).write_bytes(b"")
        assert "file is empty" in _message(tmp_path / name)


def test_corrupt_png(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    assert "not a readable PNG" in _message(tmp_path / "bad.png")
    (tmp_path / "text.png").write_text("hello, I am not a PNG")
    assert "not a readable PNG" in _message(tmp_path / "text.png")


def test_truncated_png(tmp_path):
    rng = np.random.default_rng(0)
    write_label_png(tmp_path / "full.png", rng.integers(0, 255, (64, 64), dtype=np.uint8))
    data = (tmp_path / "full.png").read_bytes()
    for cut in (20, 60, len(data) // 2):
        (tmp_path / "cut.png").write_bytes(data[:cut])
        assert "not a readable PNG" in _message(tmp_path / "cut.png")
    # issue 17: losing only the trailer (Adler-32, a CRC, IEND) after complete pixel data
    # is refused too, as zlib and the PNG spec refuse it
    for cut in (20, 12, 1):
        (tmp_path / "cut.png").write_bytes(data[:-cut])
        assert "truncated" in _message(tmp_path / "cut.png")


def test_corrupt_and_truncated_tiff(tmp_path):
    (tmp_path / "bad.tif").write_bytes(b"II*\x00" + os.urandom(100))
    assert "not a readable TIFF" in _message(tmp_path / "bad.tif")
    tifffile.imwrite(tmp_path / "full.tif", np.ones((64, 64), np.uint16))
    data = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    assert "not a readable TIFF" in _message(tmp_path / "cut.tif")


def test_rgb_tiff_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((4, 5, 3), np.uint8), photometric="rgb")
    assert "one channel" in _message(tmp_path / "rgb.tif")


def test_huge_tiff_is_refused_before_decoding(tmp_path):
    tifffile.imwrite(tmp_path / "big.tif", np.zeros((100, 100), np.uint8))
    old = maskkit.set_max_pixels(1000)
    try:
        msg = _message(tmp_path / "big.tif", ImageTooLargeError)
    finally:
        maskkit.set_max_pixels(old)
    assert "exceeds the limit of 1,000 pixels" in msg


def test_bad_npy(tmp_path):
    np.save(tmp_path / "f.npy", LABELS.astype(np.float32))
    assert "holds float32 values; label masks must be integer or bool" in _message(
        tmp_path / "f.npy"
    )
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert "not a readable .npy" in _message(tmp_path / "o.npy")
    np.save(tmp_path / "full.npy", np.ones((50, 50), np.int32))
    data = (tmp_path / "full.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) // 2])
    assert "not a readable .npy" in _message(tmp_path / "cut.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    assert "not a readable .npy" in _message(tmp_path / "junk.npy")


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "m.jpg").write_bytes(b"x")
    assert "unknown mask format; maskkit reads .npy, .png, .tif, .tiff files" in _message(
        tmp_path / "m.jpg"
    )
    assert "file not found" in _message(tmp_path / "nope.png")
    (tmp_path / "d.png").mkdir()
    assert "is a directory" in _message(tmp_path / "d.png")


def test_errors_are_oserrors():
    with pytest.raises(OSError):
        read_mask("/nonexistent/x.png")


def test_a_new_reader_plugs_in(tmp_path, monkeypatch):
    monkeypatch.setitem(READERS, ".lbl.txt", lambda p: np.loadtxt(p, dtype=np.int32, ndmin=2))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.lbl.txt").write_text("1 2\n3 4\n")
    (tmp_path / "sub" / "plain.txt").write_text("ignored")
    assert expand_inputs([tmp_path]) == [tmp_path / "sub" / "a.lbl.txt"]
    assert read_mask(tmp_path / "sub" / "a.lbl.txt").tolist() == [[1, 2], [3, 4]]


# --- expanding inputs -------------------------------------------------------------------
@pytest.fixture
def tree(tmp_path, monkeypatch):
    for name in [
        "masks/b.png",
        "masks/a.png",
        "masks/notes.txt",
        "masks/deep/er/c.tif",
        "masks/deep/d.npy",
        "masks/.hidden.png",
        "masks/._b.png",
        "masks/.git/x.png",
        "other/e.tiff",
        "other/f.txt",
    ]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _names(paths):
    return [p.as_posix() for p in paths]


def test_directory_is_searched_recursively_sorted_known_suffixes_only(tree):
    assert _names(expand_inputs(["masks"])) == [
        "masks/a.png",
        "masks/b.png",
        "masks/deep/d.npy",
        "masks/deep/er/c.tif",
    ]


def test_glob_patterns(tree):
    assert _names(expand_inputs(["masks/*.png"])) == ["masks/a.png", "masks/b.png"]
    assert _names(expand_inputs(["masks/**/*.tif"])) == ["masks/deep/er/c.tif"]
    assert _names(expand_inputs(["*/*"])) == [  # a matched directory expands
        "masks/a.png",
        "masks/b.png",
        "masks/deep/d.npy",
        "masks/deep/er/c.tif",
        "other/e.tiff",
    ]
    assert _names(expand_inputs(["o*"])) == ["other/e.tiff"]


def test_order_is_kept_and_duplicates_dropped(tree):
    got = expand_inputs(["other", "masks/b.png", "./masks/*.png", tree / "other" / "e.tiff"])
    assert _names(got) == [
        "other/e.tiff",
        "masks/b.png",
        "masks/a.png",
        (tree / "other" / "e.tiff").as_posix(),
    ]


def test_an_explicit_file_is_kept_whatever_its_suffix(tree):
    assert _names(expand_inputs(["masks/notes.txt"])) == ["masks/notes.txt"]


def test_a_pattern_matching_nothing_is_an_error_naming_it(tree):
    with pytest.raises(MaskkitIOError, match=r"^masks/\*\.jpg: the pattern matches nothing"):
        expand_inputs(["masks/a.png", "masks/*.jpg"])
    with pytest.raises(MaskkitIOError, match=r"^other/\*\.txt: the pattern matches 1 paths but"):
        expand_inputs(["other/*.txt"])


def test_missing_path_and_empty_directory(tree):
    with pytest.raises(MaskkitIOError, match=r"^nowhere\.png: no such file or directory$"):
        expand_inputs(["nowhere.png"])
    (tree / "empty").mkdir()
    with pytest.raises(MaskkitIOError, match=r"^empty: directory holds no mask files"):
        expand_inputs(["empty"])


def test_custom_suffixes(tree):
    assert _names(expand_inputs(["other"], suffixes=[".txt"])) == ["other/f.txt"]


def test_module_exports():
    assert set(masks.__all__) == {"READERS", "check_tiff_page", "expand_inputs",
                                  "quiet_tiff_readers", "read_mask"}


def test_expand_inputs_as_text_is_str_of_the_paths(tmp_path, monkeypatch):
    from maskkit.io.masks import expand_inputs

    for name in ["a-b/x.png", "a/x.png", "a/y/z.PNG", ".h/q.png", "b.npy", "c.tif", "n.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    monkeypatch.chdir(tmp_path)
    for args in (["."], [str(tmp_path)], ["./a/"], ["*"], ["**/*.png"], ["n.txt", "a"],
                 [f"{tmp_path}//a"]):
        paths = expand_inputs(args)
        assert expand_inputs(args, as_text=True) == [str(p) for p in paths]
    assert expand_inputs(["."], as_text=True) == ["a/x.png", "a/y/z.PNG", "a-b/x.png",
                                                  "b.npy", "c.tif"]
