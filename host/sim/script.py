"""The trip script: what happens in a simulated feed, and when, decided before any drawing.

``plan_trip`` turns a seeded RNG into a ``Trip``: a sequence of ``Action``s separated by idle
gaps. Each action is one shopper gesture, a hand path given as keyframes in basket coordinates
``(u, v, h)`` (see ``scene``), eased between keyframes:

- ``add``: carry a product in from outside the image, lower it, press briefly, let go;
- ``remove``: reach in empty, grasp a resting product, lift it out of the image;
- ``hover``: carry a product over the basket, hesitate, take it away again (no event);
- ``reach``: reach in with an empty hand, touch, withdraw (no event).

Everything else derives from the script as pure functions of time: which items rest where,
the truth events, and the load cells' weight. Truth ``t``: an add is at the moment of release
plus the 0.2 s the item takes to settle; a remove is when the lifted item's centre crosses the
basket polygon on its way out (sampled at 100 Hz), which is when it is *out of the basket*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from host.sim.errors import SimError
from host.sim.scene import (
    BGR,
    DEFAULT_POLYGON,
    BasketView,
    bgr,
    product_length_cm,
    random_hand_colours,
)
from smartcart.catalog import Catalog, Pricing
from smartcart.feed.format import TruthEvent

ActionKind = Literal["add", "remove", "hover", "reach"]
_GESTURE_S = 5.6  # the longest a gesture takes, plus a breath
SETTLE_S = 0.2  # from letting go to the item lying still
ABOVE_H = 1.7  # carrying height: well above the rim
ENTRY = {  # where arms come from, as basket coordinates outside the image, and how often
    "bottom": ((0.5, 1.9), 0.5),
    "left": ((-0.75, 0.55), 0.25),
    "right": ((1.75, 0.55), 0.25),
}


@dataclass(frozen=True, slots=True)
class Item:
    """One physical product in the trip."""

    key: int  # unique within the trip; also its z-order (later items lie on top)
    sku: str
    grams: float  # this item's real weight: per-kg items vary around the catalog's nominal
    length_cm: float
    u: float  # resting place in the basket
    v: float
    angle_deg: float


@dataclass(frozen=True, slots=True)
class Key:
    t_s: float
    u: float
    v: float
    h: float
    grip: float  # 0 open hand .. 1 closed round an item


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    item: Item | None
    keys: tuple[Key, ...]
    carry_s: tuple[float, float] | None  # while the hand holds the item
    press_s: tuple[float, float] | None  # while the hand pushes on the basket or its contents
    press_grams: float
    angle_rad: float  # direction the fingers point (from the arm's side toward the basket)
    skin_bgr: tuple[float, float, float]
    sleeve_bgr: tuple[float, float, float]
    truth_t_s: float | None = None

    @property
    def start_s(self) -> float:
        return self.keys[0].t_s

    @property
    def end_s(self) -> float:
        return self.keys[-1].t_s

    def at(self, t_s: float) -> Key | None:
        """The hand's (eased) position at ``t_s``, or None outside the action."""
        if not self.start_s <= t_s <= self.end_s:
            return None
        for a, b in zip(self.keys, self.keys[1:], strict=False):
            if a.t_s <= t_s <= b.t_s:
                x = 0.0 if b.t_s == a.t_s else (t_s - a.t_s) / (b.t_s - a.t_s)
                e = x * x * (3 - 2 * x)  # smoothstep: hands accelerate and brake
                return Key(t_s, *(getattr(a, f) + (getattr(b, f) - getattr(a, f)) * e
                                  for f in ("u", "v", "h", "grip")))  # fmt: skip
        return self.keys[-1]

    def carrying(self, t_s: float) -> bool:
        return self.carry_s is not None and self.carry_s[0] <= t_s <= self.carry_s[1]


@dataclass(frozen=True)
class Lighting:
    """Exposure and white balance over time: slow drift, plus steps as the cart passes lights."""

    base_bgr: tuple[float, float, float]
    drift: tuple[tuple[float, float, float], ...]  # (amplitude, period s, phase)
    steps: tuple[tuple[float, float], ...]  # (t_s, gain factor), each eased over a second

    def gain_bgr(self, t_s: float) -> tuple[float, float, float]:
        g = 1.0 + sum(a * math.sin(2 * math.pi * t_s / p + ph) for a, p, ph in self.drift)
        for t0, k in self.steps:
            x = min(1.0, max(0.0, t_s - t0))
            g *= 1 + (k - 1) * x
        warm = 0.04 * math.sin(2 * math.pi * t_s / 47.0)  # colour drifts warmer and cooler
        b, gr, r = self.base_bgr
        return b * g * (1 - warm), gr * g, r * g * (1 + warm)


@dataclass(frozen=True)
class Trip:
    duration_s: float
    polygon_norm: tuple[tuple[float, float], ...]
    actions: tuple[Action, ...]
    lighting: Lighting
    items: tuple[Item, ...] = field(default=())

    def rest_intervals(self) -> dict[int, tuple[float, float]]:
        """Item key -> (from, until) it lies in the basket (until inf if it stays)."""
        rest: dict[int, tuple[float, float]] = {}
        for a in self.actions:
            if a.item is None or a.carry_s is None:
                continue
            if a.kind == "add":
                rest[a.item.key] = (a.carry_s[1], math.inf)
            elif a.kind == "remove":
                rest[a.item.key] = (rest[a.item.key][0], a.carry_s[0])
        return rest

    def truth(self) -> list[TruthEvent]:
        events = []
        for a in self.actions:
            if a.kind in ("add", "remove") and a.item is not None and a.truth_t_s is not None:
                grams = int(round(a.item.grams))
                events.append(TruthEvent(round(a.truth_t_s, 3), a.kind, a.item.sku, grams))
        return events


def _item_grams(rng: np.random.Generator, nominal_g: int, pricing: Pricing) -> float:
    # Loose produce varies a lot (a big and a small banana); packaged goods hardly at all.
    spread = 0.18 if pricing is Pricing.PER_KG else 0.02
    return float(nominal_g * math.exp(rng.normal(0, spread)))


def _entry(rng: np.random.Generator) -> tuple[float, float]:
    names = list(ENTRY)
    side = names[int(rng.choice(len(names), p=[ENTRY[n][1] for n in names]))]
    (u, v) = ENTRY[side][0]
    return u + float(rng.uniform(-0.35, 0.35)) * (side == "bottom"), v + float(
        rng.uniform(-0.3, 0.3)
    ) * (side != "bottom")


def _angle(view: BasketView, frm: tuple[float, float], to: tuple[float, float]) -> float:
    x0, y0 = view.to_image(*frm, ABOVE_H)
    x1, y1 = view.to_image(*to, ABOVE_H)
    return math.atan2(y1 - y0, x1 - x0)


def _plan_action(
    rng: np.random.Generator,
    view: BasketView,
    kind: ActionKind,
    t0: float,
    item: Item | None,
    shopper: tuple[BGR, BGR],
) -> Action:
    eu, ev = _entry(rng)
    if item is not None:
        tu, tv = item.u, item.v
    else:
        tu, tv = (float(x) for x in rng.uniform(0.2, 0.8, 2))
    d_in, d_out = rng.uniform(0.9, 1.6), rng.uniform(0.8, 1.4)
    angle = _angle(view, (eu, ev), (tu, tv)) + float(rng.uniform(-0.2, 0.2))
    skin, sleeve = shopper
    press_g = float(rng.uniform(30, 180))
    k: list[Key] = [Key(t0, eu, ev, ABOVE_H, 0.9 if kind in ("add", "hover") else 0.2)]
    t = t0 + d_in
    carry = press = truth = None
    if kind == "add":
        k += [Key(t, tu, tv, 1.2, 0.9)]
        t_touch = t + rng.uniform(0.4, 0.7)
        t_release = t_touch + rng.uniform(0.25, 0.6)
        k += [Key(t_touch, tu, tv, 0.0, 0.9), Key(t_release, tu, tv, 0.0, 0.9)]
        t_up = t_release + rng.uniform(0.3, 0.5)
        k += [Key(t_up, tu, tv, 0.9, 0.3), Key(t_up + d_out, eu, ev, ABOVE_H, 0.3)]
        carry, press, truth = (t0, t_release), (t_touch, t_release), t_release + SETTLE_S
    elif kind == "remove":
        t_grasp = t + rng.uniform(0.4, 0.7)
        t_lift = t_grasp + rng.uniform(0.3, 0.5)
        k += [Key(t, tu, tv, 1.0, 0.2), Key(t_grasp, tu, tv, 0.0, 0.3)]
        k += [Key(t_lift, tu, tv, 0.0, 0.9)]
        t_up = t_lift + rng.uniform(0.4, 0.7)
        k += [Key(t_up, tu, tv, 1.3, 0.9), Key(t_up + d_out, eu, ev, ABOVE_H, 0.9)]
        carry, press = (t_lift, t_up + d_out), (t_grasp, t_lift)
    elif kind == "hover":
        hu, hv, hh = tu, tv, float(rng.uniform(0.8, 1.8))
        k += [Key(t, hu, hv, hh, 0.9)]
        t_hold = t + rng.uniform(1.0, 2.2)
        k += [Key(t_hold, hu + rng.uniform(-0.1, 0.1), hv + rng.uniform(-0.1, 0.1), hh, 0.9)]
        k += [Key(t_hold + d_out, eu, ev, ABOVE_H, 0.9)]
        carry = (t0, t_hold + d_out)
    else:  # reach: touch the basket (or what is in it) and think better of it
        t_touch = t + rng.uniform(0.4, 0.7)
        t_back = t_touch + rng.uniform(0.3, 0.8)
        k += [Key(t, tu, tv, 1.0, 0.1), Key(t_touch, tu, tv, 0.15, 0.2)]
        k += [Key(t_back, tu, tv, 0.2, 0.2), Key(t_back + d_out, eu, ev, ABOVE_H, 0.1)]
        press, press_g = (t_touch, t_back), float(rng.uniform(10, 60))
    action = Action(kind, item, tuple(k), carry, press, press_g, angle, skin, sleeve, None)
    if kind == "remove":
        truth = _exit_time(action, view)
    return Action(kind, item, tuple(k), carry, press, press_g, angle, skin, sleeve, truth)


def _exit_time(action: Action, view: BasketView) -> float:
    """When the lifted item's centre leaves the basket polygon (first sample outside)."""
    assert action.carry_s is not None
    for t in np.arange(action.carry_s[0], action.end_s, 0.01):
        key = action.at(float(t))
        assert key is not None
        if not view.contains(*view.to_image(key.u, key.v, key.h)):
            return float(t)
    return action.end_s


def plan_trip(
    rng: np.random.Generator,
    catalog: Catalog,
    size_px: tuple[int, int],
    *,
    duration_s: float | None = None,
    events: int | None = None,
    distractors: int | None = None,
) -> Trip:
    """A shopping trip: ``events`` adds/removes (default 6-12) and a few distractors, spread
    over ``duration_s`` (default 60-90 s)."""
    n_events = int(events if events is not None else rng.integers(6, 13))
    n_distract = int(distractors if distractors is not None else rng.integers(1, 4))
    if duration_s is None:
        duration = max(float(rng.uniform(60, 90)), _GESTURE_S * (n_events + n_distract) + 5)
    else:
        duration = float(duration_s)
        fits = int((duration - 1.0) / _GESTURE_S)  # a short feed gets fewer gestures
        if events is None:
            n_events = max(1, min(n_events, fits - (0 if distractors is not None else 1)))
        if distractors is None:
            n_distract = max(0, min(n_distract, fits - n_events))
    if n_events < 1 or duration <= 0:
        raise SimError("a trip needs at least one event and a positive duration")
    # Each cart's camera sits a little differently; 4 decimals, as meta.json records it.
    polygon = tuple(
        (
            round(x + float(rng.uniform(-0.02, 0.02)), 4),
            round(y + float(rng.uniform(-0.02, 0.02)), 4),
        )
        for x, y in DEFAULT_POLYGON
    )
    view = BasketView(size_px, polygon)
    # The order of gestures: the first is an add; removes only take what is there.
    kinds: list[ActionKind] = ["add"]
    in_basket = 1
    for _ in range(n_events - 1):
        kind: ActionKind = "remove" if in_basket > 0 and rng.random() < 0.2 else "add"
        in_basket += 1 if kind == "add" else -1
        kinds.append(kind)
    for _ in range(n_distract):
        kinds.insert(
            int(rng.integers(1, len(kinds) + 1)), "hover" if rng.random() < 0.6 else "reach"
        )
    # Budget: each gesture takes ~4-6 s; what remains is idle time spread between them.
    est = _GESTURE_S * len(kinds) + 1.0
    if est > duration:
        raise SimError(
            f"{len(kinds)} gestures need about {est:.0f} s; --duration is {duration:.0f} s"
        )
    gaps = rng.dirichlet(np.ones(len(kinds) + 1)) * (duration - est)
    skus = list(catalog)
    resting: list[Item] = []
    items: list[Item] = []
    actions: list[Action] = []
    shoppers = [
        random_hand_colours(rng) for _ in range(2)
    ]  # the shopper, and sometimes a companion
    t = 0.5 + float(gaps[0])
    for i, kind in enumerate(kinds):
        shopper = shoppers[0] if rng.random() < 0.85 else shoppers[1]
        item: Item | None = None
        if kind in ("add", "hover"):
            p = catalog[skus[int(rng.integers(len(skus)))]]
            u, v = (float(x) for x in rng.uniform(0.15, 0.85, 2))
            item = Item(len(items), p.sku, _item_grams(rng, p.unit_weight_g, p.pricing),
                        product_length_cm(p) * float(rng.uniform(0.9, 1.1)), u, v,
                        float(rng.uniform(0, 360)))  # fmt: skip
            items.append(item)
        elif kind == "remove":
            item = resting.pop(int(rng.integers(len(resting))))
        action = _plan_action(rng, view, kind, t, item, shopper)
        if kind == "add":
            assert item is not None
            resting.append(item)
        actions.append(action)
        t = action.end_s + float(gaps[i + 1]) + 0.6
    lighting = Lighting(
        base_bgr=bgr(rng.uniform(0.85, 1.1) * rng.uniform(0.93, 1.07, 3)),
        drift=tuple(
            (
                float(rng.uniform(0.02, 0.06)),
                float(rng.uniform(8, 40)),
                float(rng.uniform(0, 2 * math.pi)),
            )
            for _ in range(2)
        ),  # fmt: skip
        steps=tuple(
            sorted(
                (float(rng.uniform(0, duration)), float(rng.uniform(0.8, 1.2)))
                for _ in range(int(rng.integers(0, 3)))
            )
        ),  # fmt: skip
    )
    return Trip(max(duration, t), polygon, tuple(actions), lighting, tuple(items))


# The HX711's two output rates (its RATE pin) and the white noise of one sample at each, in
# grams for the demo cart's cells: 1.5 g at 10 SPS; the datasheet's input noise rises from 50 to
# 90 nV rms at 80 SPS, so 2.7 g there.
HX711_NOISE_G = {10: 1.5, 80: 2.7}


def scale_trace(
    trip: Trip, rng: np.random.Generator, sps: int = 10, average: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The load cells' net weight: (t_s, grams) from an HX711 at ``sps`` samples a second,
    with sampling jitter, noise, the hand's push while it holds or grasps, and a damped bounce
    after each change; ``average``: the reader reports the mean of each that many samples,
    stamped with the last (80 SPS averaged by 4: 20 a second, each as quiet as one at 10)."""
    if sps not in HX711_NOISE_G or average < 1:
        raise ValueError(f"an HX711 gives 10 or 80 samples a second, averaged >= 1; got {sps}, "
                         f"{average}")  # fmt: skip
    t = np.arange(0, trip.duration_s, 1 / sps)
    t = np.maximum(0, t + rng.uniform(-0.004, 0.004, t.shape))
    load = np.zeros_like(t)

    def ramp(t0: float, dur: float = 0.15) -> np.ndarray:
        return np.clip((t - t0) / dur, 0, 1)

    def bounce(t0: float, amplitude: float) -> np.ndarray:
        dt = t - t0
        return np.where(dt >= 0, amplitude * np.exp(-dt / 0.25) * np.cos(2 * np.pi * 3.0 * dt), 0)

    for a in trip.actions:
        if a.press_s is not None:
            p0, p1 = a.press_s
            load += a.press_grams * (ramp(p0) - ramp(p1))
            load += bounce(p1, 0.3 * a.press_grams)
        if a.item is None or a.carry_s is None:
            continue
        g = a.item.grams
        if a.kind == "add":
            assert a.press_s is not None
            load += g * ramp(a.press_s[0]) + bounce(a.carry_s[1], 0.25 * g)
        elif a.kind == "remove":
            load -= g * ramp(a.carry_s[0], 0.25)
            load += bounce(a.carry_s[0] + 0.25, -0.15 * g)
    # Items already resting when an item is removed were added by an earlier action: nothing
    # more to do. Noise: white plus a slow wander of the zero, as real HX711 load cells show.
    # The zero wanders as much a second at either rate.
    wander_g = 0.05 * np.sqrt(10 / sps)
    load += rng.normal(0, HX711_NOISE_G[sps], t.shape) + np.cumsum(rng.normal(0, wander_g, t.shape))
    if average > 1:
        n = len(t) // average * average
        t, load = t[average - 1 : n : average], load[:n].reshape(-1, average).mean(axis=1)
    return t, np.round(load, 1)
