"""maskkit: convert and count segmentation masks, fast.

The public API is flat: ``maskkit.polygon_to_mask``, ``maskkit.coco_to_semantic``,
``maskkit.label``, ``maskkit.count_objects``, ``maskkit.merge_panoptic`` ...  Submodules
are imported on first use, so ``import maskkit`` (and the CLI) start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> submodule that defines it
_API: dict[str, str] = {
    # errors
    "MaskkitError": "errors",
    "InvalidInputError": "errors",
    "InvalidPolygonError": "errors",
    "InvalidRLEError": "errors",
    "InvalidAnnotationError": "errors",
    "UnknownCategoryError": "errors",
    "ImageTooLargeError": "errors",
    "MaskkitIOError": "errors",
    "MaskkitTypeError": "errors",
    # limits
    "set_max_pixels": "limits",
    "get_max_pixels": "limits",
    "set_max_bytes": "limits",
    "get_max_bytes": "limits",
    # rasterisation
    "polygon_to_mask": "rasterize",
    "paint_polygons": "rasterize",
    "polygon_to_rle": "rasterize",
    # RLE
    "rle_encode": "rle",
    "rle_decode": "rle",
    "rle_area": "rle",
    "rle_to_bbox": "rle",
    "rle_paint": "rle",
    "rle_merge": "rle",
    # COCO -> semantic
    "coco_to_semantic": "flatten",
    "load_coco": "io.coco",
    # labelling and counting
    "label": "label",
    "region_stats": "label",
    "remove_small": "label",
    "largest_k": "label",
    "count_objects": "count",
    "count_table": "count",
    "count_file": "count",
    # panoptic
    "rgb2id": "panoptic",
    "id2rgb": "panoptic",
    "merge_panoptic": "panoptic",
    "coco_to_panoptic": "panoptic",
    "panoptic_to_semantic": "panoptic",
    "panoptic_to_coco": "panoptic",
    "panoptic_from_2ch": "panoptic",
    "check_panoptic": "panoptic",
    "pq_compute": "pq",
    # overlap: synthetic scenes, the degradation benchmark, the dataset audit, previews
    "make_scene": "synth",
    "overlap_benchmark": "overlap",
    "audit_dataset": "audit",
    "render": "render",
    # dataset counts
    "coco_image_counts": "dataset_counts",
    "panoptic_image_counts": "dataset_counts",
    "segmentation_runs": "rasterize",
    "label_with_stats": "label",
    "contiguous_category_map": "flatten",
    # geospatial, label maps -> COCO, rasters bigger than memory
    "rasterize_geometries": "geo",
    "rasterize_vector": "geo",
    "read_vector": "io.vector",
    "label_image_annotations": "labels2coco",
    "labels_to_coco": "labels2coco",
    "label_tiled": "tiled",
    "count_tiled": "tiled",
    # format conversion (COCO, YOLO segmentation, labelme)
    "convert": "conversion",
    "trace_outlines": "labels2coco",
    # semantic masks: split touching objects, estimate the true counts
    "split_touching": "split",
    "estimate_counts": "split",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'maskkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"maskkit.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from maskkit.errors import *  # noqa: F403
