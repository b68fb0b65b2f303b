"""The cart's TOML config, validated by pydantic.

One file per cart (``/etc/smartcart/cart.toml`` on the Pi). Unknown keys are errors
(``extra="forbid"``) so a typo never silently falls back to a default. Every field has a
description; ``smartcart cart config-schema`` could print them. Sections mirror the pipeline
stages: camera, scale, models, basket, broker, screen.

Example::

    cart_id = "cart-0042"
    [broker]
    url = "mqtt://store-host:1883"
    username = "cart-0042"
    password_file = "/etc/smartcart/mqtt-password"
    # or, on the broker's mTLS listener (deploy/pki/pki.sh client ... cart-0042):
    # url = "mqtts://store-host:8883"
    # ca_file = "/etc/smartcart/ca.crt"
    # cert_file = "/etc/smartcart/cart.crt"
    # key_file = "/etc/smartcart/cart.key.pem"
    [basket]
    polygon = [[0.08, 0.30], [0.92, 0.30], [0.97, 0.98], [0.03, 0.98]]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from firmware.errors import ConfigError
from firmware.link.config import BrokerAddress, LinkConfig
from firmware.link.errors import BrokerUrlError

if TYPE_CHECKING:
    from firmware.scale.ring import Ring

Point = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]
DEFAULT_POLYGON: tuple[Point, ...] = ((0.08, 0.30), (0.92, 0.30), (0.97, 0.98), (0.03, 0.98))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraConfig(_Section):
    type: Literal["picamera2", "opencv"] = Field(
        default="picamera2",
        description="Frame source: the Pi camera (picamera2) or a USB camera (OpenCV)",
    )
    device: int = Field(default=0, ge=0, description="OpenCV device index (type=opencv)")
    fps: float = Field(
        default=15.0, gt=0, le=120, description="Fixed frame rate the sensor is held to"
    )
    main_size: tuple[int, int] = Field(
        default=(1280, 960),
        description="Full-resolution stream (width, height) for recognition crops",
    )
    lores_width: int = Field(
        default=320, ge=64, le=1280, description="Width of the detection stream"
    )
    stall_timeout_s: float = Field(
        default=2.0, gt=0, description="No frame for this long means the camera stopped"
    )


class ScaleConfig(_Section):
    enabled: bool = Field(default=True, description="Whether the cart has load cells")
    data_pin: int = Field(default=5, ge=0, description="BCM GPIO of the HX711 DOUT line")
    clock_pin: int = Field(default=6, ge=0, description="BCM GPIO of the HX711 PD_SCK line")
    gpiochip: int = Field(
        default=0, ge=0, description="gpiochip number (0 on a Pi 4, 4 or 0 on a Pi 5)"
    )
    counts_per_gram: float = Field(
        default=420.0,
        description="Calibration: raw HX711 counts per gram (smartcart cart calibrate)",
    )
    offset_counts: int = Field(
        default=0, description="Calibration: raw reading of the empty basket"
    )
    average: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Readings averaged into each sample: 1 for the HX711 at 10 SPS (RATE pin "
        "low), 4 at 80 SPS (20 samples a second)",
    )
    settle_window_s: float = Field(
        default=0.5, gt=0, description="Weight must hold this long to settle"
    )
    settle_tolerance_g: float = Field(
        default=8.0, gt=0, description="Max spread of a settled window"
    )
    settle_rel_tolerance: float = Field(
        default=0.05,
        ge=0,
        description="Extra spread allowed, as a share of the step (a load rings)",
    )
    min_step_g: float = Field(
        default=8.0, gt=0, description="Smallest weight change reported as a step"
    )
    silence_s: float = Field(
        default=1.5, gt=0, description="No sample for this long: scale silent, vision-only mode"
    )
    # The demo cart's (the simulator's basket, measured by `calibrate ring` on recorded feeds).
    ring_hz: float | None = Field(
        default=3.0,
        gt=0,
        description="Calibration: how fast the basket swings on its load cells, Hz "
        "(smartcart cart calibrate ring); unset: per-kg items wait for the swing to die down",
    )
    ring_decay_s: float | None = Field(
        default=0.25, gt=0, description="Calibration: the swing's 1/e decay time, seconds"
    )

    def ring(self) -> Ring | None:
        """The basket's ring (``firmware.scale.ring``), where both halves are calibrated."""
        from firmware.scale.ring import Ring

        if self.ring_hz is None or self.ring_decay_s is None:
            return None
        return Ring(self.ring_hz, self.ring_decay_s)


class ModelsConfig(_Section):
    detector: Path | None = Field(
        default=None, description="Detector ONNX file; None: the manifest's default variant"
    )
    recognizer: Path | None = Field(
        default=None, description="Recognizer ONNX file; None: the manifest's default variant"
    )
    threads: int = Field(default=1, ge=1, le=8, description="onnxruntime intra-op threads")
    detector_variant: Literal["int8", "fp32"] = Field(
        default="fp32",
        description="Manifest variant of the detector (measure both with `cart bench`)",
    )
    recognizer_variant: Literal["int8", "fp32"] = Field(
        default="fp32",
        description="Manifest variant of the recognizer (measure both with `cart bench`)",
    )
    store_head: Path | None = Field(
        default=None,
        description="The store's own head over the recognizer's embedding (.npz from `smartcart "
        "models fit-store-head`); None: the manifest's, where it has one for its recognizer",
    )
    use_store_head: bool = Field(
        default=True, description="Mix the store head into the recognizer's scores"
    )
    detector_views: int = Field(
        default=1,
        ge=1,
        le=4,
        description="Views the detector fuses per frame: 1 the frame alone, 2 + its half turn, "
        "3 + its left-right mirror, 4 + top-bottom (each costs one model run; models/README.md)",
    )


class BasketConfig(_Section):
    polygon: tuple[Point, ...] = Field(
        default=DEFAULT_POLYGON,
        description="Inside of the basket as the camera sees it, normalised 0..1 (x right, y down)",
    )
    rest_s: float = Field(
        default=0.4, gt=0, description="An item inside that holds still this long rests"
    )
    min_confidence: float = Field(
        default=0.55,
        ge=0,
        le=1,
        description="Below this vote share the shopper is asked to confirm",
    )
    weight_tolerance: float = Field(
        default=0.35, ge=0, le=1, description="Relative deviation from unit weight still agreeing"
    )

    @field_validator("polygon")
    @classmethod
    def _three_corners(cls, v: tuple[Point, ...]) -> tuple[Point, ...]:
        if len(v) < 3:
            raise ValueError(f"a polygon needs at least 3 corners, got {len(v)}")
        return v


class BrokerConfig(_Section):
    url: str = Field(
        default="mqtt://127.0.0.1:1883", description="MQTT broker, mqtt:// or mqtts://"
    )
    username: str | None = Field(default=None, description="MQTT username (usually the cart id)")
    password: SecretStr | None = Field(
        default=None, description="MQTT password; prefer password_file"
    )
    password_file: Path | None = Field(default=None, description="File holding the MQTT password")
    outbox_path: Path = Field(
        default=Path("/var/lib/smartcart/outbox.sqlite"), description="Durable SQLite event log"
    )
    signing_key: Path | None = Field(
        default=None,
        description="Ed25519 key signing events (smartcart cart key new); None: unsigned",
    )
    ca_file: Path | None = Field(
        default=None,
        description="mqtts://: the device CA certificate the broker's is checked against; "
        "None: the system CAs",
    )
    cert_file: Path | None = Field(
        default=None, description="mqtts://: this cart's client certificate (mTLS listener)"
    )
    key_file: Path | None = Field(
        default=None, description="mqtts://: the private key of cert_file (PEM)"
    )

    @model_validator(mode="after")
    def _tls_files_need_tls(self) -> BrokerConfig:
        try:
            tls = BrokerAddress.parse(self.url).tls
        except BrokerUrlError as e:
            raise ValueError(str(e)) from e
        if (self.ca_file or self.cert_file or self.key_file) and not tls:
            raise ValueError("ca_file, cert_file and key_file need an mqtts:// url")
        if self.key_file and not self.cert_file:
            raise ValueError("key_file needs cert_file")
        return self

    def resolved_password(self) -> str | None:
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        return None

    def link_config(self, cart_id: str, **options: object) -> LinkConfig:
        """The cart link's settings from this section (``options``: the rest of LinkConfig)."""

        def path(p: Path | None) -> str | None:
            return None if p is None else str(p)

        return LinkConfig(
            cart_id,
            self.url,
            self.username,
            self.resolved_password(),
            ca_file=path(self.ca_file),
            cert_file=path(self.cert_file),
            key_file=path(self.key_file),
            **options,  # type: ignore[arg-type]
        )


class ScreenConfig(_Section):
    enabled: bool = Field(default=True, description="Serve the touchscreen page (kiosk browser)")
    port: int = Field(
        default=8765,
        ge=0,
        le=65535,
        description="Screen port on 127.0.0.1; the kiosk opens http://127.0.0.1:8765/ "
        "(hardware/provision SMARTCART_SCREEN_URL); 0: any free port (tests)",
    )
    pair_url: str = Field(
        default="http://127.0.0.1:8080/pair", description="The host's pairing page (QR code)"
    )
    pairing_key_file: Path | None = Field(
        default=None,
        description="File holding this cart's pairing key, hex; SMARTCART_PAIRING_KEY overrides",
    )


class CartConfig(_Section):
    cart_id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="This cart's id")
    store_id: str = Field(default="store-1", description="The store the cart belongs to")
    camera: CameraConfig = Field(default_factory=CameraConfig)
    scale: ScaleConfig = Field(default_factory=ScaleConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    basket: BasketConfig = Field(default_factory=BasketConfig)
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    screen: ScreenConfig = Field(default_factory=ScreenConfig)


def load_config(path: Path) -> CartConfig:
    """Read and validate a cart's TOML config; errors name the file and the bad key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from e
    try:
        return CartConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{path}: {e}") from e
