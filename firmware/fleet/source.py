"""Where a bundle comes from: a local file, or an http(s) URL on the store host.

Downloads go to a file under the fleet root (same disk as the slots, so a multi-hundred-MB
bundle never fills /tmp, which is RAM on Pi OS) and are verified like any other bundle: the
transport is not trusted, the signature is.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from firmware.fleet.errors import SourceError


def fetch(source: str, download_dir: Path, timeout_s: float = 60.0) -> Path:
    """A local path to the bundle named by ``source`` (downloading it when it is a URL)."""
    if urlparse(source).scheme not in ("http", "https"):
        path = Path(source)
        if not path.is_file():
            raise SourceError(f"{source}: no such bundle file")
        return path
    download_dir.mkdir(parents=True, exist_ok=True)
    dest = download_dir / "download.tar"
    try:
        with urllib.request.urlopen(source, timeout=timeout_s) as response, dest.open("wb") as f:
            shutil.copyfileobj(response, f)
    except (urllib.error.URLError, OSError) as e:
        raise SourceError(f"{source}: download failed: {e}") from e
    return dest
