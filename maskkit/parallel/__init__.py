"""The parallel layer: run one function over many items, on this machine or on a Dask
cluster, never losing work.

Every batch job (``coco2sem``, ``count``, ``panoptic``, ``pq`` ...) goes through
:func:`run_batch`, which owns what each job would otherwise get slightly wrong: a bounded
number of tasks in flight, ``on_error="raise"`` or ``"skip"``, worker processes that die
(reported, replaced, their items retried one at a time), and progress on stderr.

Modules: :mod:`~maskkit.parallel.policy` (the error, retry and chunking rules, written
once), :mod:`~maskkit.parallel.executors` (the local ``ProcessPoolExecutor`` and Dask,
thin adapters), :mod:`~maskkit.parallel.progress` (the tqdm display and :func:`echo`).
"""

from maskkit.errors import WorkerDiedError
from maskkit.parallel.policy import BatchRun, ItemResult
from maskkit.parallel.progress import echo
from maskkit.parallel.run import ENGINES, run_batch

__all__ = ["ENGINES", "BatchRun", "ItemResult", "WorkerDiedError", "echo", "run_batch"]
