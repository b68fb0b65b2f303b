"""Load the hardware/ scripts (plain files, not an installed package) as modules for tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HARDWARE = Path(__file__).resolve().parents[2] / "hardware"


def load(relative: str) -> ModuleType:
    path = HARDWARE / relative
    name = "hardware_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module
