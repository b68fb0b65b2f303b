"""sd_notify datagrams arrive on a real AF_UNIX socket exactly as systemd would read them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from firmware.fleet.notify import Notifier


@pytest.fixture
def listener(tmp_path: Path):
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        yield path, sock


def test_ready_and_status_reach_the_socket(listener):
    path, sock = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(path)})
    assert notifier.ready("camera, scale and models open")
    assert sock.recv(4096) == b"READY=1\nSTATUS=camera, scale and models open"


def test_heartbeat_is_sent_at_most_every_half_interval(listener):
    path, sock = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "10000000"})
    assert notifier.watchdog_interval_s == 5.0
    sent = [notifier.heartbeat(t) for t in (100.0, 101.0, 104.9, 105.0, 106.0, 110.1)]
    assert sent == [True, False, False, True, False, True]
    assert [sock.recv(64) for _ in range(3)] == [b"WATCHDOG=1"] * 3


def test_watchdog_meant_for_another_process_is_ignored(listener):
    path, _ = listener
    env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}
    assert Notifier.from_env(env).heartbeat(0.0) is False


def test_outside_systemd_everything_is_a_no_op():
    notifier = Notifier.from_env({})
    assert notifier.ready("x") is False
    assert notifier.heartbeat(0.0) is False
