"""The ``split`` job: semantic masks in, instance label images out, touching objects split.

:func:`split_file` splits one mask with :func:`maskkit.split_touching` and writes the
instance label image and, beside it, the class of every object as a class map that
``labels2coco --categories`` reads, so the objects become COCO annotations of their class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskkit.core.split import split_touching
from maskkit.errors import MaskkitError
from maskkit.io.files import write_json
from maskkit.io.masks import read_mask, write_labels

__all__ = ["class_map", "output_stem", "split_file"]


def output_stem(path) -> str:
    """The output name of a mask file: its name without the last suffix."""
    return Path(str(path)).name.rsplit(".", 1)[0]


def class_map(mask: np.ndarray, labels: np.ndarray) -> dict:
    """The class of every object of ``labels`` (the mask value at its first pixel), as the
    class map ``labels2coco --categories`` reads.

    Examples
    --------
    >>> import numpy as np
    >>> class_map(np.array([[3, 3, 0, 5]]), np.array([[1, 1, 0, 2]]))
    {'categories': [{'id': 3, 'name': '3'}, {'id': 5, 'name': '5'}], 'instances': {'1': 3, '2': 5}}
    """
    ids, first = np.unique(labels.reshape(-1), return_index=True)
    classes = mask.reshape(-1)[first[ids > 0]].astype(np.int64).tolist()
    return {"categories": [{"id": c, "name": str(c)} for c in sorted(set(classes))],
            "instances": {str(i): c for i, c in zip(ids[ids > 0].tolist(), classes)}}


def split_file(path, out_dir, *, fmt: str = "png", connectivity: int = 8,
               background: int = 0, ignore=(255,), min_distance=None) -> tuple[int, str]:
    """Split the mask file ``path`` and write ``out_dir/<name>.png`` (or ``.tif``) and
    ``out_dir/<name>.classes.json``, atomically.

    Returns ``(objects, written label image path)``.  Every failure is one
    :class:`~maskkit.errors.MaskkitError` naming the file.
    """
    mask = read_mask(path)
    try:
        labels = split_touching(mask, connectivity=connectivity, background=background,
                                ignore=ignore, min_distance=min_distance)
    except MaskkitError as exc:
        raise exc.with_context(source=path) from None
    stem = output_stem(path)
    written = write_labels(Path(out_dir) / f"{stem}.{fmt}", labels)
    write_json(Path(out_dir) / f"{stem}.classes.json", class_map(mask, labels), indent=1)
    return (int(labels.max()) if labels.size else 0), str(written)
