"""Enrolment and rotation through the real command line (``smartcart cart key`` / ``host keys``)."""

from __future__ import annotations

from pathlib import Path

from seckit import CartMessages
from typer.testing import CliRunner

from smartcart.cli import app
from smartcart.contract import encode
from smartcart.contract.signing import Keyring, Signer
from smartcart.contract.topics import Channel

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_enrol_rotate_retire(tmp_path: Path) -> None:
    ring = str(tmp_path / "keys.json")
    old_key, new_key = tmp_path / "cart.key", tmp_path / "cart.key.next"
    cart, old_kid, old_pub = run(
        "cart", "key", "new", "--cart", "cart-0042", "--out", str(old_key)
    ).split()
    run("host", "keys", "enrol", cart, old_pub, "--keyring", ring)
    _, new_kid, new_pub = run("cart", "key", "new", "--cart", cart, "--out", str(new_key)).split()
    run("host", "keys", "enrol", cart, new_pub, "--keyring", ring)
    listed = set(run("host", "keys", "list", "--keyring", ring).splitlines())
    assert listed == {f"{cart} {old_kid}", f"{cart} {new_kid}"}
    event = CartMessages(cart, "0" * 8 + "-0000-4000-8000-" + "0" * 12, None).add("kiwi")
    loaded = Keyring.load(Path(ring))
    for key in (old_key, new_key):  # during the overlap both verify
        loaded.verify(Channel.EVENTS, encode(Signer.load(key).sign(event)), cart)
    run("host", "keys", "retire", cart, old_kid, "--keyring", ring)
    assert run("host", "keys", "list", "--keyring", ring).splitlines() == [f"{cart} {new_kid}"]


def test_refuses_to_overwrite_a_key_and_bad_input(tmp_path: Path) -> None:
    key = tmp_path / "cart.key"
    run("cart", "key", "new", "--cart", "cart-0042", "--out", str(key))
    assert (
        runner.invoke(
            app, ["cart", "key", "new", "--cart", "cart-0042", "--out", str(key)]
        ).exit_code
        != 0
    )
    bad = runner.invoke(
        app,
        [
            "host",
            "keys",
            "enrol",
            "cart-0042",
            "bm90IGEga2V5",
            "--keyring",
            str(tmp_path / "k.json"),
        ],
    )
    assert bad.exit_code == 1 and "32 bytes" in bad.output
    assert (
        runner.invoke(
            app, ["cart", "key", "new", "--cart", "Not A Cart", "--out", str(tmp_path / "x")]
        ).exit_code
        != 0
    )
