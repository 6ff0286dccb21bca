"""maskkit.core.render and `maskkit render`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskkit.cli import main
from maskkit.core.render import id_colours, render
from maskkit.datasets.render import load_category_names
from maskkit.errors import InvalidInputError


def test_semantic_colours_outlines_and_legend():
    m = np.zeros((20, 20), np.uint8)
    m[2:8, 2:8] = 1
    m[10:18, 10:18] = 2
    rgb = render(m, legend=False)
    assert rgb.shape == (20, 20, 3)
    assert rgb[4, 4].tolist() == [128, 0, 0] and rgb[12, 12].tolist() == [0, 128, 0]
    assert rgb[2, 4].tolist() == [255, 255, 255]  # outline
    assert rgb[0, 0].tolist() == [28, 28, 32]  # background
    with_legend = render(m, names={1: "cow"})
    assert with_legend.shape[0] >= 20 and with_legend.shape[1] > 20
    assert (with_legend[:20, :20] == rgb).all()


def test_instance_colours_are_stable_per_id():
    ids = np.zeros((10, 10), np.uint16)
    ids[1:4, 1:4] = 5
    ids[5:9, 5:9] = 9
    a = render(ids, kind="instance", outline=False, legend=False)
    only5 = np.where(ids == 9, 0, ids)
    b = render(only5, kind="instance", outline=False, legend=False)
    assert a[2, 2].tolist() == b[2, 2].tolist() == id_colours([5])[0].tolist()
    assert a[2, 2].tolist() != a[6, 6].tolist()


def test_alpha_blend_over_photo():
    m = np.zeros((4, 4), np.uint8)
    m[1:3, 1:3] = 1
    photo = np.full((4, 4, 3), 100, np.uint8)
    rgb = render(m, image=photo, alpha=0.5, outline=False, legend=False)
    assert rgb[0, 0].tolist() == [100, 100, 100]
    assert rgb[1, 1].tolist() == [114, 50, 50]  # (100 + 128) / 2, (100 + 0) / 2
    with pytest.raises(InvalidInputError, match="mask's size"):
        render(m, image=np.zeros((5, 4, 3), np.uint8))
    with pytest.raises(InvalidInputError, match="alpha"):
        render(m, alpha=2)
    with pytest.raises(InvalidInputError, match="2-D"):
        render(np.zeros((2, 2, 2), np.uint8))


def test_category_names():
    assert load_category_names({"categories": [{"value": 1, "category_id": 18,
                                                "name": "dog"}]}) == ({1: "dog"}, {})


def test_cli_render_semantic(tmp_path):
    from maskkit.io.png import read_png, write_label_png

    m = np.zeros((16, 16), np.uint8)
    m[2:6, 2:6] = 3
    write_label_png(tmp_path / "m.png", m)
    cats = tmp_path / "cats.json"
    cats.write_text(json.dumps({"3": "car"}))
    out = tmp_path / "p.png"
    assert main(["render", str(tmp_path / "m.png"), "--categories", str(cats), "-o",
                 str(out)]) == 0
    assert read_png(out, mode="rgb")[3, 3].tolist() == [128, 128, 0]


def test_cli_render_panoptic_over_photo(tmp_path, real_data):
    from maskkit.io.png import read_png

    folder = real_data / "coco_panoptic_panopticapi" / "sample_data"
    out = tmp_path / "pan.png"
    assert main(["render", str(folder / "panoptic_examples" / "000000142238.png"),
                 "--kind", "panoptic", "--json", str(folder / "panoptic_examples.json"),
                 "--image", str(folder / "input_images" / "000000142238.jpg"),
                 "-o", str(out)]) == 0
    assert read_png(out, mode="rgb").shape[1] > 640


def test_cli_render_missing_file(tmp_path, capsys):
    assert main(["render", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o.png")]) == 1
    assert "nope.png" in capsys.readouterr().err
