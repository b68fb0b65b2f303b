"""A checkout host as its own process, for kill -9 tests.

Usage: python host_proc.py DB_URL BROKER_URL WORKER_ID KEYRING [--die-after-charge]

Prints ``ready`` once consuming. With ``--die-after-charge`` it SIGKILLs itself right after
committing a batch that produced a receipt and before publishing anything (the worst moment:
the customer is charged, the cart has not heard, the broker has not had its PUBACK).
"""

import os
import signal
import sys
import time
from pathlib import Path

from host.settings import HostSettings
from host.worker import HostWorker
from smartcart.contract import messages as m
from smartcart.contract.signing import KeyringFile


class DyingHost(HostWorker):
    def _deliver(self, out, batch):  # type: ignore[no-untyped-def]
        if any(isinstance(o.message, m.Receipt) for o in out):
            print("charged; dying before the receipt", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        super()._deliver(out, batch)


def main() -> None:
    db_url, broker_url, worker_id, keyring = sys.argv[1:5]
    cls = DyingHost if "--die-after-charge" in sys.argv else HostWorker
    settings = HostSettings(
        database_url=db_url, broker_url=broker_url, worker_id=worker_id, mqtt_keepalive_s=5
    )
    with cls(settings, keyring=KeyringFile(Path(keyring))):
        print("ready", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
