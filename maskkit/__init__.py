"""maskkit: convert and count segmentation masks, fast.

The public API is flat: ``maskkit.polygon_to_mask``, ``maskkit.coco_to_semantic``,
``maskkit.label``, ``maskkit.count_table``, ``maskkit.merge_panoptic`` ...  The names are
declared once, in ``__init__.pyi`` (which type checkers and editors read), and each is
imported on first use, so ``import maskkit`` (and the CLI) start quickly.  The layers the
names come from are described in ARCHITECTURE.md.
"""

import lazy_loader as _lazy

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = ["__version__", *__all__]
