"""HX711 bit-banging against a stand-in of lgpio's documented calls (gpiochip_open,
gpio_claim_input/output, gpio_read, gpio_write, gpiochip_close, ``error``)."""

from __future__ import annotations

import time

import pytest

from firmware.errors import ScaleError
from firmware.scale.hx711 import HX711, Calibration, HX711Scale, calibrate, tare


class StandInHX711Chip:
    """The HX711 as its datasheet draws it: DOUT low when a conversion is ready; each rising
    PD_SCK edge shifts out the next bit of the 24-bit two's-complement value, MSB first; the
    pulses after the 24th select the next conversion's channel and gain."""

    error = RuntimeError

    def __init__(self, counts: list[int], ready: bool = True) -> None:
        self.counts, self.ready = counts, ready
        self.bits: list[int] = []
        self.pulse = 0
        self.pulses_per_read: list[int] = []
        self.closed = False

    def gpiochip_open(self, chip: int) -> int:
        return 7

    def gpio_claim_input(self, h: int, pin: int) -> None: ...

    def gpio_claim_output(self, h: int, pin: int, level: int) -> None: ...

    def gpio_read(self, h: int, pin: int) -> int:
        if 1 <= self.pulse <= 24:
            return self.bits[self.pulse - 1]
        return 0 if self.ready and self.pulse == 0 else 1

    def gpio_write(self, h: int, pin: int, level: int) -> None:
        if level == 1:
            if self.pulse == 0:
                value = self.counts.pop(0) if len(self.counts) > 1 else self.counts[0]
                self.bits = [((value & 0xFFFFFF) >> (23 - i)) & 1 for i in range(24)]
                self.pulses_per_read.append(0)
            self.pulse += 1
            self.pulses_per_read[-1] += 1
        elif self.pulse >= 25:
            self.pulse = 0  # conversion for the next read is ready again

    def gpiochip_close(self, h: int) -> None:
        self.closed = True


def test_reads_signed_24_bit_values_with_25_pulses() -> None:
    chip = StandInHX711Chip([123456, -5000])
    hx = HX711(5, 6, lgpio=chip)
    assert hx.read_counts() == 123456
    assert hx.read_counts() == -5000
    assert chip.pulses_per_read == [25, 25]  # the 25th selects channel A, gain 128


def test_tare_and_calibration_give_grams() -> None:
    chip = StandInHX711Chip([1000] * 20 + [1000 + 420 * 500] * 20)
    hx = HX711(5, 6, lgpio=chip)
    offset = tare(hx)
    cal = calibrate(hx, offset, known_grams=500.0)
    assert offset == 1000 and cal.counts_per_gram == pytest.approx(420.0)
    chip.counts = [1000 + 420 * 110]
    scale = HX711Scale(hx, cal)
    deadline = time.monotonic() + 2.0
    samples = []
    while not samples and time.monotonic() < deadline:
        time.sleep(0.01)
        samples = scale.drain()
    scale.close()
    assert samples and samples[0].grams == pytest.approx(110.0)
    assert chip.closed


def test_chip_never_ready_is_a_clear_error() -> None:
    hx = HX711(5, 6, lgpio=StandInHX711Chip([0], ready=False))
    with pytest.raises(ScaleError, match="not ready"):
        hx.read_counts(timeout_s=0.05)


class EightReadingsChip(StandInHX711Chip):
    """Converts eight readings, then none (DOUT stays high): the reader's queue keeps them."""

    def gpio_read(self, h: int, pin: int) -> int:
        if self.pulse == 0 and len(self.pulses_per_read) >= 8:
            return 1
        return super().gpio_read(h, pin)


def test_a_chip_at_80_sps_is_read_as_the_mean_of_each_four_readings() -> None:
    chip = EightReadingsChip([420 * g for g in (100, 104, 96, 100, 200, 204, 196, 200, 0)])
    scale = HX711Scale(HX711(5, 6, lgpio=chip), Calibration(0, 420.0), average=4)
    deadline = time.monotonic() + 2.0
    samples: list = []
    while len(samples) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
        samples += scale.drain()
    scale.close()
    assert [s.grams for s in samples[:2]] == [pytest.approx(100.0), pytest.approx(200.0)]
    assert samples[0].t_s < samples[1].t_s


def test_averaging_no_reading_is_a_clear_error() -> None:
    with pytest.raises(ScaleError, match="average"):
        HX711Scale(HX711(5, 6, lgpio=StandInHX711Chip([0])), Calibration(0, 420.0), average=0)
