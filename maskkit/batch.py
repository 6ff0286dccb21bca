"""Compatibility alias: the batch layer is :mod:`maskkit.parallel`."""

from maskkit.parallel import ENGINES, BatchRun, ItemResult, WorkerDiedError, echo, run_batch  # noqa: F401
