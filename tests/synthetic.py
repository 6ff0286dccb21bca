"""Small generated datasets shared by several test files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def make_coco(root: Path, n: int, *, seed: int, classes: int, height: int, width: int,
              per_image: int, file_prefix: str = "") -> Path:
    """A COCO instances file of ``n`` images with overlapping quadrilaterals."""
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(n):
        images.append({"id": i + 1, "height": height, "width": width,
                       "file_name": f"{file_prefix}{i}.jpg"})
        for _ in range(per_image):
            x, y = (float(v) for v in rng.uniform(-2, height, 2))
            anns.append({"id": len(anns) + 1, "image_id": i + 1,
                         "category_id": int(rng.integers(1, classes + 1)),
                         "segmentation": [[x, y, x + 9, y + 1, x + 7, y + 8, x - 1, y + 5]]})
    path = root / "instances.json"
    path.write_text(json.dumps({
        "images": images, "annotations": anns,
        "categories": [{"id": c, "name": f"c{c}"} for c in range(1, classes + 1)]}))
    return path
