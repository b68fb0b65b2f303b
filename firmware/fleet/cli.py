"""``smartcart cart fleet ...``: build, verify and apply update bundles; roll back; report.

Typer only at module level; the updater (cryptography, pydantic) loads inside each command so
``smartcart --help`` stays instant. Options read ``SMARTCART_FLEET_*`` environment variables,
which the systemd units set from ``/etc/smartcart/fleet.env``. Exit status: 0 applied,
already current or deferred; 1 rolled back or failed; 2 bundle refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from firmware.fleet.updater import Outcome, Updater

app = typer.Typer(no_args_is_help=True, help="Fleet updates: signed A/B bundles with rollback.")

Root = Annotated[
    Path,
    typer.Option(envvar="SMARTCART_FLEET_ROOT", help="Install root holding slots/ and current"),
]
Keys = Annotated[
    Path,
    typer.Option(envvar="SMARTCART_FLEET_KEYS", help="Folder of trusted Ed25519 public *.pem keys"),
]
AllowUnsigned = Annotated[
    bool,
    typer.Option(
        envvar="SMARTCART_FLEET_ALLOW_UNSIGNED", help="Accept unsigned bundles (bench carts only)"
    ),
]
Health = Annotated[
    str,
    typer.Option(
        envvar="SMARTCART_FLEET_HEALTH",
        help="systemd (restart the unit, watch it), none (first install), or a command with {slot}",
    ),
]
StatusFile = Annotated[
    Path, typer.Option(envvar="SMARTCART_FLEET_STATUS", help="Cart status the service writes")
]
DEFAULT_ROOT = Path("/opt/smartcart")
DEFAULT_KEYS = Path("/etc/smartcart/fleet-keys")
DEFAULT_STATUS = Path("/run/smartcart/status.json")


@app.command()
def keygen(private: Path, public: Path) -> None:
    """Make the fleet's Ed25519 signing key pair (keep PRIVATE off the carts)."""
    from firmware.fleet.manifest import generate_key

    private_pem, public_pem = generate_key()
    private.touch(mode=0o600)
    private.write_bytes(private_pem)
    public.write_bytes(public_pem)
    typer.echo(f"private key {private}, public key {public} (install it in {DEFAULT_KEYS}/)")


@app.command()
def build(
    payload: Annotated[Path, typer.Argument(help="Folder: wheels/*.whl, models/...")],
    version: Annotated[str, typer.Option(help="Release version, e.g. 1.4.0")],
    out: Annotated[Path, typer.Option(help="Bundle tar to write")],
    key: Annotated[Path | None, typer.Option(help="Ed25519 private key PEM to sign with")] = None,
) -> None:
    """Pack a payload folder into a bundle with its SHA-256 manifest, signed with KEY."""
    from firmware.fleet.bundle import build_bundle
    from firmware.fleet.readiness import utc_now

    private_pem = key.read_bytes() if key is not None else None
    manifest = build_bundle(payload, version, out, utc_now(), private_pem)
    size_mb = out.stat().st_size / 1e6
    signed = "signed" if key else "UNSIGNED"
    typer.echo(f"{out}: {version}, {len(manifest.files)} files, {size_mb:.1f} MB, {signed}")


@app.command()
def verify(
    bundle: Path,
    keys: Keys = DEFAULT_KEYS,
    allow_unsigned: AllowUnsigned = False,
) -> None:
    """Check a bundle's signature and every checksum without installing it."""
    import tempfile

    from firmware.fleet.bundle import TrustPolicy, unpack_bundle
    from firmware.fleet.errors import BundleRejected
    from firmware.fleet.manifest import load_trusted_keys

    trust = TrustPolicy(load_trusted_keys(keys), require_signature=not allow_unsigned)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            verified = unpack_bundle(bundle, Path(tmp) / "staging", trust)
        except BundleRejected as e:
            typer.echo(f"REFUSED: {e}", err=True)
            raise typer.Exit(2) from e
    m = verified.manifest
    typer.echo(f"OK {m.version} ({m.created_at:%Y-%m-%d %H:%M %Z}), {len(m.files)} files verified")


@app.command()
def apply(
    source: Annotated[str, typer.Argument(help="Bundle file or http(s) URL")],
    root: Root = DEFAULT_ROOT,
    keys: Keys = DEFAULT_KEYS,
    status_file: StatusFile = DEFAULT_STATUS,
    health: Health = "systemd",
    allow_unsigned: AllowUnsigned = False,
    allow_downgrade: Annotated[
        bool, typer.Option(help="Accept a bundle older than current")
    ] = False,
    force: Annotated[bool, typer.Option(help="Skip the idle-and-docked test (bench)")] = False,
    python: Annotated[
        str | None,
        typer.Option(envvar="SMARTCART_FLEET_PYTHON", help="Interpreter for the slot's venv"),
    ] = None,
) -> None:
    """Install a bundle into the idle slot, switch, health-check, roll back on failure."""
    from firmware.fleet.errors import BundleRejected, FleetError
    from firmware.fleet.source import fetch

    updater = _updater(root, keys, status_file, health, allow_unsigned, allow_downgrade, python)
    try:
        outcome = updater.apply(fetch(source, root / "downloads"), force=force)
    except BundleRejected as e:
        typer.echo(f"REFUSED: {e}", err=True)
        raise typer.Exit(2) from e
    except FleetError as e:
        # Fetch or install failed before the switch: the running version was never touched.
        typer.echo(f"FAILED: {e}", err=True)
        raise typer.Exit(1) from e
    _report(outcome)


@app.command()
def recover(
    root: Root = DEFAULT_ROOT,
    keys: Keys = DEFAULT_KEYS,
    status_file: StatusFile = DEFAULT_STATUS,
    health: Health = "systemd",
) -> None:
    """At boot: finish a switch a power cut interrupted (health-check it or roll it back)."""
    outcome = _updater(root, keys, status_file, health, False, False).recover()
    if outcome is None:
        typer.echo("nothing pending")
        return
    _report(outcome)


@app.command()
def rollback(
    root: Root = DEFAULT_ROOT,
    keys: Keys = DEFAULT_KEYS,
    status_file: StatusFile = DEFAULT_STATUS,
    health: Health = "systemd",
) -> None:
    """Switch back to the other slot's install (the previous version) and check it."""
    _report(_updater(root, keys, status_file, health, False, False).rollback())


@app.command()
def status(root: Root = DEFAULT_ROOT) -> None:
    """Show both slots, which one is current, and any pending switch."""
    from firmware.fleet.slots import SLOTS, SlotLayout

    layout = SlotLayout(root)
    current = layout.current_slot()
    for slot in SLOTS:
        manifest = layout.installed(slot)
        label = f"{manifest.version} ({manifest.created_at:%Y-%m-%d})" if manifest else "empty"
        typer.echo(f"{'*' if slot == current else ' '} slot {slot}: {label}")
    if (pending := layout.read_pending()) is not None:
        typer.echo(f"pending: {pending.version} in slot {pending.to_slot} awaits its health check")


@app.command()
def bench(
    size_mb: Annotated[float, typer.Option(help="Payload size of each synthetic bundle")] = 150.0,
    files: Annotated[int, typer.Option(help="Number of payload files")] = 40,
    work_dir: Annotated[
        Path, typer.Option("--dir", help="Scratch folder on the disk to measure (deleted after)")
    ] = Path("/tmp/smartcart-fleet-bench"),
) -> None:
    """Time build, verify, apply, switch and rollback of synthetic bundles; print figures."""
    from firmware.fleet.bench import run_bench

    r = run_bench(work_dir, size_mb, files)
    typer.echo(f"payload {r.payload_mb:.0f} MB in {files} files, on {work_dir}")
    typer.echo(f"build + sign      {r.build_s:7.2f} s  ({r.payload_mb / r.build_s:6.0f} MB/s)")
    typer.echo(f"unpack + verify   {r.verify_s:7.2f} s  ({r.payload_mb / r.verify_s:6.0f} MB/s)")
    typer.echo(f"apply (no venv)   {r.apply_s:7.2f} s")
    typer.echo(f"switch current    {r.switch_us:7.1f} us (atomic rename + fsync, mean of 200)")
    typer.echo(f"rollback          {r.rollback_s:7.3f} s (no-op health check)")


def _updater(
    root: Path,
    keys: Path,
    status_file: Path,
    health: str,
    allow_unsigned: bool,
    downgrade: bool,
    python: str | None = None,
) -> Updater:
    from firmware.fleet.bundle import TrustPolicy
    from firmware.fleet.health import CommandHealthCheck, NoHealthCheck, SystemdHealthCheck
    from firmware.fleet.manifest import load_trusted_keys
    from firmware.fleet.prepare import VenvPreparer, default_python
    from firmware.fleet.slots import SlotLayout
    from firmware.fleet.updater import Updater

    checks = {"systemd": SystemdHealthCheck(), "none": NoHealthCheck()}
    check = checks.get(health) or CommandHealthCheck(health.split())
    return Updater(
        layout=SlotLayout(root),
        trust=TrustPolicy(load_trusted_keys(keys), require_signature=not allow_unsigned),
        health=check,
        preparer=VenvPreparer(python=python or default_python()),
        status_path=status_file,
        allow_downgrade=downgrade,
    )


def _report(outcome: Outcome) -> None:
    slot = f" (current: slot {outcome.slot})" if outcome.slot else ""
    typer.echo(f"{outcome.kind}: {outcome.version or '-'}: {outcome.detail}{slot}")
    if outcome.kind in ("rolled_back", "failed"):
        raise typer.Exit(1)
