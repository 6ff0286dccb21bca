"""The ``maskkit`` command line: argument parsing only; the work is done by the public API.

Each subcommand lives in its own module of this package and exposes
``add_parser(subparsers)``, which registers the subcommand and sets ``func`` (a callable
taking the parsed ``argparse.Namespace`` and returning an exit code).  Every command keeps
the contract of :mod:`maskkit.cli._output`: results on stdout or ``-o``; progress,
warnings and summaries on stderr; exit 0 / 1 (one line) / 2 (usage) / 3 (skipped inputs)
/ 130 (interrupted).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from maskkit import __version__
from maskkit.cli._output import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, Parser, UsageError

# subcommand modules, in the order they are listed by --help
_COMMANDS = [
    "coco2sem", "count", "panoptic", "pq", "audit", "bench", "render", "rasterize", "labels2coco",
    "convert",
    "split",
]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``maskkit`` parser; with ``only``, just that subcommand is registered (a command
    then starts without importing what the other commands' options need)."""
    parser = Parser(
        prog="maskkit",
        description="Convert and count segmentation masks, fast.",
        epilog="Every command: results on stdout or -o; progress, warnings and summaries on "
               "stderr. Exit status: 0 done, 1 bad input (one line naming the file), 2 "
               "usage, 3 done with skipped inputs (listed), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"maskkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(f"maskkit.cli.{name}")
        except ModuleNotFoundError as exc:  # a subcommand not written yet
            if exc.name != f"maskkit.cli.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names (its first word), when it is one of ours."""
    for word in argv:
        if word.startswith("-"):
            return None  # an option before the command: --help, --version
        return word if word in _COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    from maskkit.cli._output import one_line, silence_stdout
    from maskkit.errors import MaskkitError

    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(only=_command_of(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    command = " ".join(x for x in (args.command, getattr(args, "panoptic_command", None),
                                   getattr(args, "bench", None)) if x)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that has gone shows here, not at exit
        return code
    except BrokenPipeError:  # `maskkit panoptic check | head`: stop quietly, as cat does
        silence_stdout()
        return 0
    except UsageError as exc:
        print(f"maskkit {command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (MaskkitError, OSError) as exc:
        # OSError: a bad output path (a file where a folder should be, /proc, ENOSPC...);
        # the user gets one line naming the file, as for any bad input
        print(f"maskkit {command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"maskkit {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
