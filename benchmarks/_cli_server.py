"""A fresh interpreter that runs ``maskkit`` CLI jobs for the batch benchmarks.

The jobs run as a shell's ``maskkit count`` runs: not inside the pytest process, which
after the other benchmarks holds gigabytes of heap.  Each fork of the local worker pool
copies the page tables of all of it (~15 ms per worker per job on the benchmark machine,
10 % of a 2-worker job), and a Dask scheduler in that process pauses in garbage
collections that walk all of pytest's objects: costs of the harness that no user pays.
The server is spawned, so it inherits none of that; a command costs a pipe round trip
(< 1 ms) on top of the job.  The Dask benchmark starts a second server to host its
``LocalCluster``, so that the cluster's scheduler runs beside the jobs, not inside them.
"""

from __future__ import annotations

import logging
import time


def serve(conn) -> None:
    """Answer commands from ``conn`` until None arrives (runs in the spawned child).

    ``("cli", args)`` -> the exit status of ``maskkit args``;
    ``("cluster", n)`` -> ``(scheduler address, start-up seconds)`` of a new n-worker Dask
    ``LocalCluster`` on loopback; ``("close", None)`` closes it.
    """
    from maskkit.cli import main

    cluster = None
    try:
        while (message := conn.recv()) is not None:
            command, arg = message
            if command == "cli":
                conn.send(main(arg))
            elif command == "cluster":
                import distributed

                t0 = time.perf_counter()
                cluster = distributed.LocalCluster(
                    n_workers=arg, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=":0", silence_logs=logging.ERROR)
                conn.send((cluster.scheduler_address, time.perf_counter() - t0))
            elif command == "close":
                cluster.close()
                cluster = None
                conn.send(None)
    finally:
        if cluster is not None:
            cluster.close()


class CliServer:
    """The parent's handle: ``run(args)``, ``start_cluster(n)``, ``close_cluster()``."""

    def __init__(self):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child,))
        self.process.start()

    def _ask(self, command, arg=None):
        self.conn.send((command, arg))
        return self.conn.recv()

    def run(self, args) -> int:
        return self._ask("cli", [str(a) for a in args])

    def start_cluster(self, workers: int) -> tuple[str, float]:
        return self._ask("cluster", workers)

    def close_cluster(self) -> None:
        self._ask("close")

    def stop(self) -> None:
        self.conn.send(None)
        self.process.join(timeout=60)
