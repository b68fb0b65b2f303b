"""Is the cart in its dock? A reed switch on GPIO17 that the dock bay's magnet closes.

Wired between GPIO17 (header pin 11) and GND (pin 9), read with the internal pull-up: the
line reads 0 when the switch is closed (docked), 1 when open. lgpio is the GPIO library the
HX711 driver uses too (the one that works on the Pi 5's RP1); it is imported lazily because
it exists only on a Pi. The cart service reads this each status period and publishes it in
``/run/smartcart/status.json`` (``readiness.CartStatus.docked``) for the fleet updater.
"""

from __future__ import annotations

from types import ModuleType

from firmware.fleet.errors import FleetError

DOCK_GPIO = 17


class DockSensor:
    def __init__(self, gpio: int = DOCK_GPIO, gpiochip: int = 0, lgpio: ModuleType | None = None):
        if lgpio is None:
            try:
                import lgpio as lgpio_module  # Pi only (python3-lgpio)
            except ImportError as e:
                raise FleetError("lgpio is not installed: this is not a Raspberry Pi") from e
            lgpio = lgpio_module
        self._lg, self._gpio = lgpio, gpio
        try:
            self._handle = lgpio.gpiochip_open(gpiochip)
            lgpio.gpio_claim_input(self._handle, gpio, lgpio.SET_PULL_UP)
        except lgpio.error as e:
            raise FleetError(f"cannot claim GPIO{gpio} on gpiochip{gpiochip}: {e}") from e

    def docked(self) -> bool:
        return self._lg.gpio_read(self._handle, self._gpio) == 0

    def close(self) -> None:
        self._lg.gpiochip_close(self._handle)
