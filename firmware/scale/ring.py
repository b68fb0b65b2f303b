"""The basket's ringing, and the level under it.

A load put down on the basket (or a hand's press let go) sets the basket swinging on its load
cells, a damped oscillation about the new level:

    g(t) = level + exp(-t / decay_s) * (a * cos(w t) + b * sin(w t)),  w = 2 pi hz

A settled window must wait until the swing has died down to a few grams (0.6-0.9 s on a 10 Hz
HX711). With the mount's frequency and decay known, ``fit_level`` reads the level from the first
half second of samples instead: for known ``hz`` and ``decay_s`` the model is linear in
(level, a, b), so ordinary least squares fits it, and the residual says whether the samples are
that swing at all (a hand still pressing, or a sample taken mid-ramp, is not). ``estimate``
measures ``hz`` and ``decay_s`` from a recorded trace of a few loads put down
(``smartcart cart calibrate ring``, or any feed's ``scale.csv``); they belong to the cart's
mount, like its calibration factor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_SAMPLES = 5  # three unknowns: at least two samples more to see the fit's residual
# ... spanning most of one period of the swing: a shorter stretch cannot tell the tail of the
# release's ramp from the swing (five samples of a 20 Hz scale cover 0.2 s, and fitted a ramp's
# tail as a level 3-7 % off: 80 SPS averaged by 4, docs/firmware.md); 10 Hz's five span 0.4 s.
MIN_PERIODS = 0.85
# A fit whose residual is larger than this is no swing of the ring (the cells' noise is ~1.5 g;
# a hand still pressing, or a sample on a ramp, leaves far more).
FIT_RMS_G = 4.0


@dataclass(frozen=True, slots=True)
class Ring:
    """How the basket swings on its load cells: frequency and 1/e decay time."""

    hz: float
    decay_s: float


@dataclass(frozen=True, slots=True)
class RingFit:
    level_g: float
    level_se_g: float  # the level's standard error
    swing_g: float  # amplitude of the swing left at the last sample
    rms_g: float  # residual of the fit (per degree of freedom)

    def still_s(self, ring: Ring, t_last_s: float, within_g: float = 2.0) -> float:
        """When the swing will have died down to ``within_g``: from then on the load reads as
        its level."""
        return t_last_s + ring.decay_s * max(0.0, math.log(self.swing_g / within_g))


def _design(t_s: np.ndarray, ring: Ring) -> np.ndarray:
    t = t_s - t_s[0]
    envelope = np.exp(-t / ring.decay_s)
    w = 2 * np.pi * ring.hz
    return np.column_stack([np.ones_like(t), envelope * np.cos(w * t), envelope * np.sin(w * t)])


def _lstsq(t: np.ndarray, g: np.ndarray, ring: Ring) -> tuple[np.ndarray, np.ndarray, float]:
    """(design matrix, (level, a, b), residual sum of squares) of the fit to ``ring``."""
    design = _design(t, ring)
    coef, *_ = np.linalg.lstsq(design, g, rcond=None)
    residual = g - design @ coef
    return design, coef, float(residual @ residual)


def fit_level(t_s: Sequence[float], grams: Sequence[float], ring: Ring) -> RingFit | None:
    """Least-squares fit of the level and the swing to ``MIN_SAMPLES`` or more samples (in time
    order, all after the load's last ramp) over ``MIN_PERIODS`` of the swing; None with fewer."""
    t, g = np.asarray(t_s, float), np.asarray(grams, float)
    if len(t) < MIN_SAMPLES or t[-1] - t[0] < MIN_PERIODS / ring.hz:
        return None
    design, coef, sse = _lstsq(t, g, ring)
    rms = float(np.sqrt(sse / (len(t) - 3)))
    swing = float(np.hypot(coef[1], coef[2]) * np.exp(-(t[-1] - t[0]) / ring.decay_s))
    level_se = rms * float(np.sqrt(np.linalg.pinv(design.T @ design)[0, 0]))
    return RingFit(float(coef[0]), level_se, swing, rms)


def _residuals(segments: Sequence[tuple[np.ndarray, np.ndarray]], ring: Ring) -> np.ndarray:
    """Each segment's residual sum of squares under ``ring``."""
    return np.asarray([_lstsq(t, g, ring)[2] for t, g in segments])


def _search(segments: Sequence[tuple[np.ndarray, np.ndarray]], max_hz: float) -> Ring:
    """The ring of least total residual: a coarse grid, then a fine one around its best (the
    residual is smooth in both)."""

    def best(hz: np.ndarray, decay: np.ndarray) -> Ring:
        rings = [Ring(float(f), float(d)) for f in hz for d in decay]
        return min(rings, key=lambda r: float(_residuals(segments, r).sum()))

    coarse = best(np.arange(0.5, max_hz, 0.25), np.arange(0.05, 1.001, 0.05))
    return best(
        np.arange(max(0.3, coarse.hz - 0.25), min(max_hz, coarse.hz + 0.26), 0.02),
        np.arange(max(0.02, coarse.decay_s - 0.05), coarse.decay_s + 0.051, 0.005),
    )


def swing_segments(
    t_s: Sequence[float], grams: Sequence[float], min_step_g: float = 40.0, span_s: float = 1.5
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stretches of a trace that follow a load lifted off, a fall of ``min_step_g`` or more
    across 0.2 s, and stay free of the next step for ``span_s``: the load swinging about its
    new level. Each starts after the fall's ramp. Not a load put down: the hand that put it
    there often presses and lets go within the swing, a second ramp the model does not have."""
    t, g = np.asarray(t_s, float), np.asarray(grams, float)
    segments = []
    i = 1
    while i < len(t):
        back = np.searchsorted(t, t[i] - 0.2)
        fall = g[back] - g[i]
        if fall < min_step_g:
            i += 1
            continue
        # The ramp: ride it to its end (the jump between samples falls below a tenth of it).
        j = i
        while j + 1 < len(t) and abs(g[j + 1] - g[j]) > 0.1 * fall:
            j += 1
        end = np.searchsorted(t, t[j] + span_s)
        seg_t, seg_g = t[j + 1 : end], g[j + 1 : end]
        # Quiet enough afterwards: no new step within the stretch, and its tail within 5 %.
        if len(seg_t) >= 8:
            later = np.searchsorted(seg_t, seg_t[0] + 0.3)
            if np.ptp(seg_g[later:]) < 0.6 * fall and np.ptp(seg_g[-4:]) <= 0.05 * fall + 6.0:
                segments.append((seg_t, seg_g))
        i = max(end, i + 1)
    return segments


def estimate(t_s: Sequence[float], grams: Sequence[float]) -> tuple[Ring, int]:
    """The mount's ring (frequency, decay) that best explains the swings after the steps of a
    trace, and how many swings it used. Frequencies stop below the samples' Nyquist rate (a
    10 Hz scale cannot tell 3 Hz from 7 Hz). Swings the first fit explains worst (a hand's press
    let go within one, a bumped basket) are left out of the second. Raises ValueError when the
    trace holds no usable step."""
    segments = swing_segments(t_s, grams)
    if not segments:
        raise ValueError(
            "no load step down (a weight lifted out) followed by 1.5 s of quiet in the trace"
        )
    rate_hz = 1.0 / float(np.median(np.diff(np.asarray(t_s, float))))
    max_hz = 0.45 * rate_hz
    ring = _search(segments, max_hz)
    rms = np.sqrt(_residuals(segments, ring) / np.array([len(t) - 3 for t, _ in segments]))
    kept = [seg for seg, r in zip(segments, rms, strict=True) if r <= 3.0 * np.median(rms)]
    if len(kept) < len(segments):
        ring = _search(kept, max_hz)
    return Ring(round(ring.hz, 2), round(ring.decay_s, 3)), len(kept)
