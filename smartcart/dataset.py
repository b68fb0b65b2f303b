"""Where the Grocery Store Dataset (Klasson et al., WACV 2019, MIT) is found.

Resolution order:
1. ``SMARTCART_DATASET_DIR`` (a folder laid out as a clone of the dataset's repository);
2. the local mirror ``../shared/datasets/grocery-store`` beside the checkout, if present;
3. a clone of the public repository into ``~/.cache/smartcart/GroceryStoreDataset``.

Its images are never committed to this repository, nor is anything rendered from them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_URL = "https://github.com/marcusklasson/GroceryStoreDataset.git"
ENV_VAR = "SMARTCART_DATASET_DIR"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DatasetError(RuntimeError):
    pass


def _looks_like_dataset(root: Path) -> bool:
    return (root / "dataset" / "classes.csv").is_file()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "smartcart"


def dataset_root(*, fetch: bool = True) -> Path:
    """The dataset's repository root (it holds ``dataset/classes.csv``)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        root = Path(configured).expanduser()
        if not _looks_like_dataset(root):
            raise DatasetError(f"{ENV_VAR}={root} does not hold dataset/classes.csv")
        return root
    mirror = _PROJECT_ROOT.parent / "shared" / "datasets" / "grocery-store"
    if _looks_like_dataset(mirror):
        return mirror
    cloned = cache_dir() / "GroceryStoreDataset"
    if _looks_like_dataset(cloned):
        return cloned
    if not fetch:
        raise DatasetError(f"dataset not found: set {ENV_VAR} or allow fetching")
    return _clone(cloned)


def _clone(dest: Path) -> Path:
    if shutil.which("git") is None:
        raise DatasetError(f"git is needed to fetch the dataset; or set {ENV_VAR}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"fetching the Grocery Store Dataset into {dest} ...", file=sys.stderr)
    # git prints its own progress on a terminal; --depth 1 keeps it to one snapshot.
    result = subprocess.run(["git", "clone", "--depth", "1", "--progress", REPO_URL, str(tmp)])
    if result.returncode != 0 or not _looks_like_dataset(tmp):
        raise DatasetError(f"could not clone {REPO_URL} (git exit {result.returncode})")
    tmp.rename(dest)
    return dest
