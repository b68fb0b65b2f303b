"""Bundles fetched over HTTP from a real local server, and the errors when they cannot be."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from firmware.fleet.errors import SourceError
from firmware.fleet.source import fetch


@pytest.fixture
def served(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_url_is_downloaded_under_the_fleet_root(served, tmp_path: Path):
    root, base = served
    (root / "bundle.tar").write_bytes(b"tar bytes")
    path = fetch(f"{base}/bundle.tar", tmp_path / "downloads")
    assert path.parent == tmp_path / "downloads"
    assert path.read_bytes() == b"tar bytes"


def test_missing_url_is_a_source_error(served, tmp_path: Path):
    _, base = served
    with pytest.raises(SourceError, match="404"):
        fetch(f"{base}/nope.tar", tmp_path / "downloads")


def test_local_path_is_used_in_place(tmp_path: Path):
    bundle = tmp_path / "b.tar"
    bundle.write_bytes(b"x")
    assert fetch(str(bundle), tmp_path / "downloads") == bundle
    with pytest.raises(SourceError, match="no such bundle"):
        fetch(str(tmp_path / "missing.tar"), tmp_path / "downloads")
