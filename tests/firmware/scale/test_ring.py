"""The basket's ring: the level read under the swing, and the swing measured from a trace."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.scale.ring import Ring, estimate, fit_level

RING = Ring(3.0, 0.25)


def swing(t_s: np.ndarray, level: float, amplitude: float, phase: float = 0.4) -> np.ndarray:
    dt = t_s - t_s[0]
    return level + amplitude * np.exp(-dt / RING.decay_s) * np.cos(2 * np.pi * RING.hz * dt + phase)


def test_the_level_is_read_under_a_swing_still_tens_of_grams_wide() -> None:
    rng = np.random.default_rng(1)
    t = 10.0 + np.arange(5) * 0.1 + rng.uniform(-0.004, 0.004, 5)
    g = swing(t, 631.0, 60.0) + rng.normal(0, 1.5, 5)
    assert np.ptp(g) > 40  # far from settled
    fit = fit_level(t, g, RING)
    assert fit is not None and abs(fit.level_g - 631.0) < 3.0
    assert fit.rms_g < 4.0


def test_samples_that_are_no_such_swing_fit_badly() -> None:
    """A hand letting go within the samples: a ramp down the model has no term for."""
    t = 10.0 + np.arange(6) * 0.1
    g = swing(t, 631.0, 20.0) + np.where(t < 10.25, 120.0, 0.0)
    fit = fit_level(t, g, RING)
    assert fit is not None and fit.rms_g > 10.0


def test_too_few_samples_say_nothing() -> None:
    t = 10.0 + np.arange(4) * 0.1
    assert fit_level(t, swing(t, 500.0, 30.0), RING) is None


def test_the_ring_is_measured_from_loads_lifted_out_of_the_basket() -> None:
    """A 10 Hz trace with jitter and noise: a 400 g load put in (pressed, let go) and lifted out
    three times; the estimate comes from the lifts."""
    rng = np.random.default_rng(7)
    t = np.arange(0, 30, 0.1) + rng.uniform(-0.004, 0.004, 300)
    g = np.zeros_like(t)
    for t_in, t_out in ((2.0, 6.0), (11.0, 16.0), (21.0, 26.0)):
        g += 400 * np.clip((t - t_in) / 0.15, 0, 1)
        g += 150 * (np.clip((t - t_in) / 0.15, 0, 1) - np.clip((t - t_in - 1.0) / 0.15, 0, 1))
        g -= 400 * np.clip((t - t_out) / 0.25, 0, 1)
        dt = t - t_out - 0.25
        g += np.where(dt >= 0, -60 * np.exp(-dt / 0.25) * np.cos(2 * np.pi * 3.0 * dt), 0)
    g += rng.normal(0, 1.5, t.shape)
    ring, used = estimate(t, g)
    assert used >= 3
    assert ring.hz == pytest.approx(3.0, abs=0.15)
    assert ring.decay_s == pytest.approx(0.25, abs=0.04)


def test_a_trace_without_a_lift_is_a_clear_error() -> None:
    t = np.arange(0, 10, 0.1)
    with pytest.raises(ValueError, match="no load step"):
        estimate(t, np.full_like(t, 500.0))


def test_the_fit_says_how_well_it_pins_the_level() -> None:
    """Its standard error: what fusion weighs against the item's grams (a 36 g plum's 1 % is
    below what five noisy samples pin; a 3.5 kg watermelon's is not)."""
    rng = np.random.default_rng(4)
    errors, ses = {5: [], 10: []}, {5: [], 10: []}
    for _ in range(200):
        for n in (5, 10):
            t = 10.0 + np.arange(n) * 0.1
            fit = fit_level(t, swing(t, 36.0, 10.0) + rng.normal(0, 1.5, n), RING)
            assert fit is not None
            errors[n].append(fit.level_g - 36.0)
            ses[n].append(fit.level_se_g)
    for n in (5, 10):  # the stated error is about the real one
        assert 0.5 < np.std(errors[n]) / np.median(ses[n]) < 2.0
    assert np.median(ses[5]) > 0.36 > 0 and np.median(ses[10]) < np.median(ses[5])


def test_a_faster_scale_is_not_fooled_by_the_tail_of_the_release() -> None:
    """An HX711 at 80 SPS averaged by 4 gives 20 samples a second: five cover 0.2 s, and from
    the last of a release's ramp they can fit a swing about a wrong level. Only fits over most
    of a period count; none that passes fusion's checks is off by more than 3 %."""
    rng = np.random.default_rng(4)
    for _ in range(300):
        for n in range(5, 10):
            t = 10.0 + rng.uniform(0, 0.1) + np.arange(n) * 0.05
            land = 300 * np.clip((t - 10.0) / 0.15, 0, 1)
            after = t - 10.15
            ring = np.where(after >= 0, 60 * np.exp(-after / RING.decay_s) * np.cos(
                2 * np.pi * RING.hz * after + rng.uniform(0, 2 * np.pi)), 0)  # fmt: skip
            fit = fit_level(t, land + ring + rng.normal(0, 1.35, n), RING)
            if fit is not None and fit.rms_g <= 4.0 and fit.level_se_g <= 3.0:
                assert abs(fit.level_g - 300) <= 9, (n, fit)
    # Seven samples after the ramp (0.3 s) are read: a fast scale still weighs under the swing.
    t = 10.2 + np.arange(7) * 0.05
    fit = fit_level(t, swing(t, 300.0, 40.0) + rng.normal(0, 1.35, 7), RING)
    assert fit is not None and abs(fit.level_g - 300) < 3
