"""Progress of a batch run on stderr, drawn by tqdm, and :func:`echo` to print beside it."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "echo"]

#: Seconds between two plain progress lines when stderr is not a terminal.
_PLAIN_INTERVAL = 5.0
#: Seconds between two redraws of the live bar.
_LIVE_INTERVAL = 0.1

# the runs showing progress now, innermost last: echo() prints above the last one's bar
_ACTIVE: list[Progress] = []


def echo(message: str) -> None:
    """Print one line on stderr without garbling a live progress bar.

    Commands use it for warnings while :func:`~maskkit.parallel.run_batch` is showing
    progress.

    Examples
    --------
    >>> from maskkit.parallel import echo
    >>> echo("maskkit count: warning: a.png: skipped")  # doctest: +SKIP
    """
    if _ACTIVE:
        _ACTIVE[-1].message(message)
    else:
        print(message, file=sys.stderr, flush=True)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """Progress of one run on stderr, drawn by tqdm.

    On a terminal: a live tqdm bar.  Otherwise: a plain line every ``_PLAIN_INTERVAL``
    seconds and, when any was printed, one final line, so logs get no carriage returns
    and nothing stale (a run shorter than the interval prints none).  The rate, and the
    ETA from it, count only the items finished after the first one (see
    :class:`~maskkit.parallel.BatchRun`); before two have finished the display shows no
    rate and no ETA rather than a made-up one.

    Examples
    --------
    >>> progress = Progress(3, "masks", enabled=False)
    >>> progress.begin()
    >>> for done in (1, 2, 3):
    ...     progress.update(done, errors=0)
    >>> progress.rate() is not None
    True
    >>> progress.close()
    """

    def __init__(self, total: int | None, desc: str, *, enabled: bool):
        self.stream = sys.stderr
        self.total = total
        self.desc = desc
        self.enabled = enabled
        self.live = enabled and _isatty(self.stream)
        self.start = self.last = time.monotonic()
        self.first: tuple[float, int] | None = None  # (time, items) of the first result
        self.done = self.errors = 0
        self.bar = None
        self.printed = False  # a plain progress line was printed

    def begin(self) -> None:
        """Start the clock; :func:`echo` prints through this display until :meth:`close`."""
        self.start = self.last = time.monotonic()
        _ACTIVE.append(self)

    def rate(self, now: float | None = None) -> float | None:
        """Items per second after the first finished item (None until two have)."""
        if self.first is None or self.done <= self.first[1]:
            return None
        seconds = (time.monotonic() if now is None else now) - self.first[0]
        return (self.done - self.first[1]) / seconds if seconds > 0 else None

    def _postfix(self) -> str | None:
        if not self.errors:
            return None
        return f"{self.errors} error{'s' if self.errors > 1 else ''}"

    def _plain(self, now: float) -> str:
        from tqdm import tqdm

        fmt = ("{n_fmt}/{total_fmt}{unit} ({percentage:.0f}%) [{elapsed}<{remaining}, "
               "{rate_fmt}{postfix}]")
        if not self.total:
            fmt = "{n_fmt}{unit} [{elapsed}, {rate_fmt}{postfix}]"
        return "maskkit: " + tqdm.format_meter(
            self.done, self.total, now - self.start, unit=f" {self.desc}",
            rate=self.rate(now) or 0, postfix=self._postfix(), bar_format=fmt)

    def _open_bar(self) -> None:
        from tqdm import tqdm

        progress = self

        class _Bar(tqdm):
            @property
            def format_dict(self):
                d = super().format_dict
                d["rate"] = progress.rate() or 0  # 0: tqdm shows "?", not its own guess
                return d

        self.bar = _Bar(total=self.total, unit=f" {self.desc}", file=self.stream,
                        mininterval=_LIVE_INTERVAL, dynamic_ncols=True, leave=True,
                        smoothing=0, unit_scale=False)
        # elapsed time counts from the start of the run (tqdm's clock is time.time)
        self.bar.start_t -= time.monotonic() - self.start

    def update(self, done: int, errors: int) -> None:
        """``done`` items have finished, ``errors`` of them failed."""
        now = time.monotonic()
        if self.first is None:
            self.first = (now, done)
        step = done - self.done
        self.done, self.errors = done, errors
        if not self.enabled:
            return
        if self.live:
            if self.bar is None:
                self._open_bar()
            postfix = self._postfix()
            if postfix is not None:
                self.bar.set_postfix_str(postfix, refresh=False)
            self.bar.update(step)
        elif now - self.last >= _PLAIN_INTERVAL and done != self.total:
            self.last = now
            self.printed = True
            print(self._plain(now), file=self.stream, flush=True)

    def message(self, text: str) -> None:
        """Print ``text`` on stderr above the bar."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """End the display: the bar's last state, or one final plain line."""
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self.bar is not None:
            self.bar.refresh()
            self.bar.close()
            self.bar = None
        elif self.printed:  # the last plain line is stale: one final line
            print(self._plain(time.monotonic()), file=self.stream, flush=True)
