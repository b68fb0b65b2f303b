"""``require_signatures``: a production host never runs without a keyring, so it never applies an
unsigned cart message; a development host that does accept them says so loudly at start."""

from __future__ import annotations

import logging
import shutil
import socket
from pathlib import Path

import pytest
from seckit import CartMessages, dead_letters, state, wire

from host.errors import SignaturesRequired
from host.mqtt.link import LinkError
from host.settings import HostSettings
from host.worker import HostWorker
from smartcart.contract.signing import KeyringFile, Signer

CART = "cart-0001"


def settings(db: Path, **kw: object) -> HostSettings:
    return HostSettings(database_url=f"sqlite:///{db}", worker_id="t-require-sig", **kw)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_a_keyring_the_host_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTCART_HOST_REQUIRE_SIGNATURES", "true")
    monkeypatch.setenv("SMARTCART_HOST_DATABASE_URL", f"sqlite:///{tmp_path / 'host.db'}")
    from_env = HostSettings()
    assert from_env.require_signatures and from_env.keyring_path is None
    with pytest.raises(SignaturesRequired, match="SMARTCART_HOST_KEYRING_PATH"):
        HostWorker(from_env)
    assert not (tmp_path / "host.db").exists()  # refused before touching anything


def test_with_required_signatures_unsigned_messages_are_dead_lettered(
    tmp_path: Path, sec_sqlite_template: Path, keyring_path: Path, cart_signer: Signer
) -> None:
    shutil.copyfile(sec_sqlite_template, tmp_path / "host.db")
    host = HostWorker(
        settings(tmp_path / "host.db", require_signatures=True, keyring_path=keyring_path)
    )
    assert isinstance(host.keyring, KeyringFile)
    host.prepare_database()
    customer_id = host.create_customer("Alice", top_up_minor=50_000)
    session_id = host.start_session(CART, customer_id)
    unsigned = CartMessages(CART, session_id, None)
    before = state(host)
    host.apply_messages([wire(unsigned.add("kiwi")), wire(unsigned.checkout())])
    assert state(host) == before
    assert [reason for reason, _ in dead_letters(host)] == ["unsigned", "unsigned"]
    signed = CartMessages(CART, session_id, cart_signer)
    out = host.apply_messages([wire(signed.add("kiwi")), wire(signed.checkout())])
    assert [o.message.total_minor for o in out if o.message.type == "receipt"] == [500]
    host.engine.dispose()


def warnings_at_start(host: HostWorker, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Start the host against a closed port (it gives up at the broker) and keep its warnings."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="host.worker"), pytest.raises(LinkError):
        host.start()
    host.stop()
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_host_that_accepts_unsigned_messages_warns_once_at_start(
    tmp_path: Path, keyring_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = f"mqtt://127.0.0.1:{closed_port()}"
    dev = HostWorker(settings(tmp_path / "dev.db", broker_url=broker, shared_subscription=False))
    (warning,) = warnings_at_start(dev, caplog)
    assert "UNSIGNED" in warning and "REQUIRE_SIGNATURES=true" in warning
    signed = HostWorker(
        settings(
            tmp_path / "prod.db",
            broker_url=broker,
            shared_subscription=False,
            keyring_path=keyring_path,
            require_signatures=True,
        )
    )
    assert warnings_at_start(signed, caplog) == []


def test_the_code_default_stays_permissive_for_the_demo_and_tests() -> None:
    assert HostSettings.model_fields["require_signatures"].default is False
