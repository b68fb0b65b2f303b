"""Cart config: TOML validated strictly, errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.config import load_config
from firmware.errors import ConfigError

GOOD = """
cart_id = "cart-0042"
[camera]
type = "opencv"
fps = 15
[broker]
url = "mqtt://store-host:1883"
username = "cart-0042"
password_file = "{pw}"
[basket]
polygon = [[0.1, 0.3], [0.9, 0.3], [0.95, 0.98], [0.05, 0.98]]
"""


def test_good_config_loads_with_defaults(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    path = tmp_path / "cart.toml"
    path.write_text(GOOD.format(pw=pw))
    cfg = load_config(path)
    assert cfg.cart_id == "cart-0042" and cfg.camera.type == "opencv"
    assert cfg.broker.resolved_password() == "s3cret"
    assert cfg.basket.polygon[2] == (0.95, 0.98)
    assert cfg.scale.enabled and cfg.models.threads == 1


@pytest.mark.parametrize(
    "text,message",
    [
        ('cart_id = "cart-1"\n[camera]\nfsp = 15\n', "fsp"),  # typo: extra="forbid"
        ('cart_id = "Cart 1"\n', "cart_id"),
        ('cart_id = "cart-1"\n[basket]\npolygon = [[0.1, 0.1], [0.2, 0.2]]\n', "at least 3"),
        ('cart_id = "cart-1"\n[basket]\npolygon = [[0.1, 0.1], [1.2, 0.2], [0, 1]]\n', "polygon"),
        ("cart_id = \n", "cart.toml"),
    ],
)
def test_bad_config_is_a_config_error_naming_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "cart.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml"):
        load_config(tmp_path / "nope.toml")
