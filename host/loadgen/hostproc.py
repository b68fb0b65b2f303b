"""One checkout-host worker as a process, for the load run:
``python -m host.loadgen.hostproc DB_URL BROKER_URL WORKER_ID KEYRING``.

Prints ``ready`` once it consumes, runs until SIGTERM/SIGINT, then prints its counters and how
long its batches took (inbox -> commit -> acks handed to paho). With
``SMARTCART_LOADGEN_PROFILE=DIR`` it also profiles its batches (cProfile, the worker thread
only) into ``DIR/WORKER_ID.prof``.
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from host.settings import HostSettings
from host.worker import HostWorker
from smartcart.contract.signing import KeyringFile


def main() -> None:
    db_url, broker_url, worker_id, keyring = sys.argv[1:5]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings = HostSettings(database_url=db_url, broker_url=broker_url, worker_id=worker_id)
    profile_dir = os.environ.get("SMARTCART_LOADGEN_PROFILE")
    prof = cProfile.Profile()
    with HostWorker(settings, keyring=KeyringFile(Path(keyring))) as host:
        if profile_dir:
            process = host._process  # noqa: SLF001 - looked up per batch by the worker thread

            def profiled(batch: Sequence[object]) -> None:
                prof.enable()
                try:
                    process(batch)  # type: ignore[arg-type]
                finally:
                    prof.disable()

            host._process = profiled  # type: ignore[method-assign]  # noqa: SLF001
        print("ready", flush=True)
        stop.wait()
        took = sorted(host.batch_s)

        def ms(q: float) -> float:
            return 1e3 * took[min(len(took) - 1, int(q * len(took)))] if took else 0.0

        print(
            f"received {host.received} applied {host.applied_events} batches {host.batches} "
            f"busy {host.busy_s:.1f} s  batch p50 {ms(0.5):.1f} ms p99 {ms(0.99):.1f} ms "
            f"max {ms(1.0):.1f} ms"
        )
    if profile_dir:
        prof.dump_stats(Path(profile_dir) / f"{worker_id}.prof")


if __name__ == "__main__":
    main()
