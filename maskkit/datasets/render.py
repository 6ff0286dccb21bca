"""Previews as files: category names from a categories file, instance maps rendered to PNG."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from maskkit.core.render import render
from maskkit.errors import InvalidInputError
from maskkit.io.png import write_render

__all__ = ["load_category_names", "render_instances_png", "write_render"]


def load_category_names(obj) -> tuple[dict, dict]:
    """Class names and colours from a categories file or object.

    Accepts a COCO or panoptic document (its ``categories``), ``coco2sem``'s
    ``categories.json`` (keyed by ``value``), a list of ``{"id", "name"}`` dicts, or a
    mapping ``{id: name}``. Returns ``(names, colours)``: ``{int: str}``, ``{int: (r, g, b)}``.

    Examples
    --------
    >>> load_category_names([{"id": 1, "name": "person", "color": [220, 20, 60]}])
    ({1: 'person'}, {1: (220, 20, 60)})
    >>> load_category_names({"3": "car"})
    ({3: 'car'}, {})
    """
    if isinstance(obj, (str, os.PathLike)):
        from maskkit.io.files import read_json

        obj = read_json(obj)
    if isinstance(obj, Mapping) and "categories" in obj:
        obj = obj["categories"]
    names: dict = {}
    colours: dict = {}
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            names[int(k)] = str(v if not isinstance(v, Mapping) else v.get("name", k))
        return names, colours
    if not isinstance(obj, list):
        raise InvalidInputError(
            "categories must be a list of {'id', 'name'} dicts, a COCO document or "
            f"{{id: name}}; got {type(obj).__name__}")
    for cat in obj:
        if not isinstance(cat, Mapping):
            raise InvalidInputError(f"a category must be a dict; got {cat!r:.60}")
        key = cat.get("value", cat.get("id"))
        if key is None:
            raise InvalidInputError(f"a category has neither 'id' nor 'value': {cat!r:.60}")
        names[int(key)] = str(cat.get("name", key))
        if "color" in cat:
            colours[int(key)] = tuple(int(v) for v in cat["color"][:3])
    return names, colours


def render_instances_png(path, ids: np.ndarray, classes, *, class_names=None, image=None,
                         title: str | None = None) -> Path:
    """Render an instance id map whose object ``i`` has class ``classes[i - 1]`` to ``path``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> ids = np.zeros((8, 8), np.uint16); ids[1:4, 1:4] = 1; ids[4:7, 4:7] = 2
    >>> p = render_instances_png(os.path.join(tempfile.mkdtemp(), "x.png"), ids, [1, 1])
    >>> p.name
    'x.png'
    """
    class_of = {i + 1: int(c) for i, c in enumerate(np.asarray(classes).tolist())}
    rgb = render(ids, kind="instance", classes=class_of, names=class_names, image=image,
                 title=title)
    return write_render(path, rgb)

