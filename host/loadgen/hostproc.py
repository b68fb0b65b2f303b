"""One checkout-host worker as a process, for the load run:
``python -m host.loadgen.hostproc DB_URL BROKER_URL WORKER_ID KEYRING``.

Prints ``ready`` once it consumes, runs until SIGTERM/SIGINT, then prints its counters.
"""

from __future__ import annotations

import signal
import sys
import threading
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
    with HostWorker(settings, keyring=KeyringFile(Path(keyring))) as host:
        print("ready", flush=True)
        stop.wait()
        print(f"received {host.received} applied {host.applied_events} batches {host.batches}")


if __name__ == "__main__":
    main()
