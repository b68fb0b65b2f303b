"""HX711 load-cell amplifier read through lgpio (the Pi 5-capable GPIO library).

Bit-banged per the HX711 datasheet: DOUT goes low when a conversion is ready; 24 clock pulses
shift the two's-complement reading out MSB first; a 25th pulse selects channel A, gain 128 for
the next conversion. PD_SCK held high for over 60 us powers the chip down, so a pulse must be
short: we keep the clock loop tight and re-read if a reading is saturated.

``HX711Scale`` turns raw counts into net grams with the cart's calibration
(``offset_counts``: empty basket, ``counts_per_gram``) and runs a reader thread that keeps a
bounded queue of samples; ``tare`` and ``calibrate`` produce new calibration values for the
config. lgpio is imported lazily: it exists only on the Pi.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from firmware.errors import ScaleError
from firmware.scale.samples import ScaleSample

_SATURATED = (0x7FFFFF, -0x800000)


@dataclass(frozen=True, slots=True)
class Calibration:
    offset_counts: int
    counts_per_gram: float


class HX711:
    """Raw 24-bit readings from one HX711 on channel A, gain 128."""

    def __init__(self, data_pin: int, clock_pin: int, gpiochip: int = 0, lgpio: Any = None) -> None:
        if lgpio is None:
            try:
                import lgpio as lgpio_module  # Pi only (python3-lgpio or the lgpio wheel)
            except ImportError as e:
                raise ScaleError("lgpio is not installed: this is not a Raspberry Pi") from e
            lgpio = lgpio_module
        self._lg = lgpio
        self._data, self._clock = data_pin, clock_pin
        try:
            self._h = lgpio.gpiochip_open(gpiochip)
            lgpio.gpio_claim_input(self._h, data_pin)
            lgpio.gpio_claim_output(self._h, clock_pin, 0)
        except lgpio.error as e:
            raise ScaleError(f"cannot claim HX711 pins {data_pin}/{clock_pin}: {e}") from e

    def read_counts(self, timeout_s: float = 0.5) -> int:
        lg, h = self._lg, self._h
        deadline = time.monotonic() + timeout_s
        while lg.gpio_read(h, self._data) == 1:
            if time.monotonic() > deadline:
                raise ScaleError("HX711 not ready (DOUT stuck high): check wiring and power")
            time.sleep(0.001)
        value = 0
        for _ in range(24):
            lg.gpio_write(h, self._clock, 1)
            lg.gpio_write(h, self._clock, 0)
            value = (value << 1) | lg.gpio_read(h, self._data)
        lg.gpio_write(h, self._clock, 1)  # 25th pulse: channel A, gain 128 next time
        lg.gpio_write(h, self._clock, 0)
        return value - (1 << 24) if value & 0x800000 else value

    def close(self) -> None:
        self._lg.gpiochip_close(self._h)


def tare(hx: HX711, n: int = 20) -> int:
    """Offset of the empty basket: median of ``n`` readings."""
    return round(statistics.median(hx.read_counts() for _ in range(n)))


def calibrate(hx: HX711, offset_counts: int, known_grams: float, n: int = 20) -> Calibration:
    """With ``known_grams`` on the empty (tared) basket, the counts per gram."""
    counts = statistics.median(hx.read_counts() for _ in range(n))
    per_gram = (counts - offset_counts) / known_grams
    if abs(per_gram) < 1e-6:
        raise ScaleError(
            "the reading did not change with the known weight on: check the load cells"
        )
    return Calibration(offset_counts, per_gram)


class HX711Scale:
    """Net-gram samples from an HX711, read on a thread into a bounded queue."""

    def __init__(
        self, hx: HX711, calibration: Calibration, max_queue: int = 256, average: int = 1
    ) -> None:
        """``average``: report the mean of each that many readings, stamped with the last. A
        chip wired for 80 SPS (its RATE pin high) is read averaged by 4: 20 samples a second,
        each about as quiet as one at 10 SPS, which is what fusion's tests of a settled or
        swinging load are set for (docs/firmware.md)."""
        if average < 1:
            raise ScaleError(f"average must be 1 or more readings, got {average}")
        self._hx = hx
        self._cal = calibration
        self._average = average
        self._pending: list[float] = []
        self._queue: deque[ScaleSample] = deque(maxlen=max_queue)  # oldest dropped if unread
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error: ScaleError | None = None  # the last read error; the watchdog sees silence
        self._thread = threading.Thread(target=self._run, name="hx711", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                counts = self._hx.read_counts()
            except ScaleError as e:
                self.error = e  # no sample: the settle detector reports silence
                self._pending.clear()  # readings either side of a gap are no one sample
                time.sleep(0.1)
                continue
            if counts in _SATURATED:
                continue
            self._pending.append((counts - self._cal.offset_counts) / self._cal.counts_per_gram)
            if len(self._pending) < self._average:
                continue
            grams = sum(self._pending) / len(self._pending)
            self._pending.clear()
            # CLOCK_MONOTONIC, the clock libcamera's SensorTimestamp uses too.
            sample = ScaleSample(time.monotonic(), grams)
            with self._lock:
                self._queue.append(sample)

    def drain(self) -> list[ScaleSample]:
        with self._lock:
            out = list(self._queue)
            self._queue.clear()
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        self._hx.close()
