"""Options shared by every batch subcommand: where the work runs and what to do on errors.

``add_batch_options(parser)`` adds ``--workers``, ``--engine``, ``--scheduler``,
``--on-error`` (and ``--resume`` for the commands that can resume); ``batch_kwargs(args)``
turns them into the keyword arguments of :func:`maskkit.parallel.run_batch`.  Importing this
module imports neither NumPy nor Dask, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json

from maskkit.cli._output import EXIT_SKIPPED  # noqa: F401  (re-exported)


def int_at_least(minimum: int):
    """An argparse type: a whole number >= ``minimum``, else one line saying what was wrong."""

    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}; got {value}")
        return value

    check.__name__ = f"int_at_least_{minimum}"
    return check


#: argparse types: whole numbers >= 1 and >= 0.
positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def add_batch_options(
    parser: argparse.ArgumentParser,
    *,
    workers_default: int | None = None,
    on_error: bool = True,
    on_error_help: str | None = None,
    resume_help: str | None = None,
) -> None:
    """Add the batch options to a subcommand's parser.

    ``--resume`` is added only when ``resume_help`` is given (the command knows how to
    resume); ``--on-error`` unless ``on_error=False``.
    """
    default = "all cores" if workers_default is None else str(workers_default)
    parser.add_argument(
        "--workers", type=positive_int, default=workers_default, metavar="N",
        help=f"worker processes (default: {default}); with --engine dask and no "
             "--scheduler, the size of the local Dask cluster",
    )
    parser.add_argument(
        "--engine", choices=["local", "dask"], default=None,
        help="where the work runs: local processes (default) or a Dask distributed "
             "cluster (pip install 'maskkit[dask]')",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", default=None,
        help="address of a running Dask scheduler (tcp://host:8786); implies --engine dask "
             "(default: a local Dask cluster of --workers processes)",
    )
    if on_error:
        parser.add_argument(
            "--on-error", choices=["skip", "raise"], default="raise",
            help=on_error_help or "on a bad input: stop with exit status 1 (raise, default) "
                                  "or skip it, list it in an errors file and exit with status 3",
        )
    if resume_help:
        parser.add_argument("--resume", action="store_true", help=resume_help)


def batch_kwargs(args: argparse.Namespace) -> dict:
    """The :func:`~maskkit.parallel.run_batch` keywords chosen on the command line."""
    scheduler = getattr(args, "scheduler", None)
    engine = getattr(args, "engine", None) or ("dask" if scheduler else "local")
    if scheduler and engine != "dask":
        from maskkit.errors import InvalidInputError

        raise InvalidInputError("--scheduler needs --engine dask (or no --engine)")
    return {"workers": args.workers, "engine": engine, "scheduler": scheduler}


def error_record(item, exc: BaseException) -> dict:
    """One line of an errors file: ``{"path", "object", "error", "reason"}``."""
    return {
        "path": getattr(exc, "source", None) or str(item),
        "object": getattr(exc, "obj", None),
        "error": type(exc).__name__,
        "reason": getattr(exc, "reason", None) or str(exc),
    }


def write_errors(path, records: list[dict]) -> None:
    """Write an errors file (JSON Lines) atomically; remove a stale one when all went well."""
    from maskkit.io import fs

    if not records:
        fs.remove(path)
        return
    text = "".join(json.dumps(r, default=str) + "\n" for r in records)
    fs.write_bytes(path, text.encode("utf-8", "surrogateescape"))
