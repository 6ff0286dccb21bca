"""Type stub of maskkit's public API: every name ``import maskkit`` offers, and where it lives.

maskkit/__init__.py loads these names lazily from this file (lazy_loader.attach_stub), so
the list exists once; type checkers and editors read it directly.
"""

__version__: str

# errors
from .errors import (
    ImageTooLargeError,
    InvalidAnnotationError,
    InvalidInputError,
    InvalidPolygonError,
    InvalidRLEError,
    MaskkitError,
    MaskkitIOError,
    MaskkitTypeError,
    UnknownCategoryError,
    WorkerDiedError,
)

# limits on what inputs may allocate
from .limits import get_max_bytes, get_max_pixels, set_max_bytes, set_max_pixels

# core: arrays in, arrays out
from .core.rasterize import paint_polygons, polygon_to_mask, polygon_to_rle, segmentation_runs
from .core.rle import rle_area, rle_decode, rle_encode, rle_merge, rle_paint, rle_to_bbox
from .core.label import label, label_with_stats, largest_k, region_stats, remove_small
from .core.count import coco_image_counts, count_objects, count_table, panoptic_image_counts
from .core.flatten import contiguous_category_map
from .core.panoptic import id2rgb, merge_panoptic, panoptic_from_2ch, panoptic_to_semantic, rgb2id
from .core.annotations import label_image_annotations, trace_outlines
from .core.geo import rasterize_geometries
from .core.split import estimate_counts, split_touching
from .core.render import render

# io: reading datasets
from .io.coco import load_coco
from .io.vector import read_vector

# datasets: paths in, paths out
from .datasets.coco2sem import coco_to_semantic
from .datasets.counting import count_file
from .datasets.tiled import count_tiled, label_tiled
from .datasets.panoptic import check_panoptic, coco_to_panoptic, panoptic_to_coco
from .datasets.pq import pq_compute
from .datasets.labels2coco import labels_to_coco
from .datasets.vector import rasterize_vector
from .datasets.conversion import convert

# the overlap study
from .study.synth import make_scene
from .study.overlap import overlap_benchmark
from .study.audit import audit_dataset

__all__ = [
    "__version__",
    "ImageTooLargeError",
    "InvalidAnnotationError",
    "InvalidInputError",
    "InvalidPolygonError",
    "InvalidRLEError",
    "MaskkitError",
    "MaskkitIOError",
    "MaskkitTypeError",
    "UnknownCategoryError",
    "WorkerDiedError",
    "audit_dataset",
    "check_panoptic",
    "coco_image_counts",
    "coco_to_panoptic",
    "coco_to_semantic",
    "contiguous_category_map",
    "convert",
    "count_file",
    "count_objects",
    "count_table",
    "count_tiled",
    "estimate_counts",
    "get_max_bytes",
    "get_max_pixels",
    "id2rgb",
    "label",
    "label_image_annotations",
    "label_tiled",
    "label_with_stats",
    "labels_to_coco",
    "largest_k",
    "load_coco",
    "make_scene",
    "merge_panoptic",
    "overlap_benchmark",
    "paint_polygons",
    "panoptic_from_2ch",
    "panoptic_image_counts",
    "panoptic_to_coco",
    "panoptic_to_semantic",
    "polygon_to_mask",
    "polygon_to_rle",
    "pq_compute",
    "rasterize_geometries",
    "rasterize_vector",
    "read_vector",
    "region_stats",
    "remove_small",
    "render",
    "rgb2id",
    "rle_area",
    "rle_decode",
    "rle_encode",
    "rle_merge",
    "rle_paint",
    "rle_to_bbox",
    "segmentation_runs",
    "set_max_bytes",
    "set_max_pixels",
    "split_touching",
    "trace_outlines",
]
