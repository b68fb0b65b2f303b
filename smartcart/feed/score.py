"""Scoring replay output against a feed's truth, exactly as ``feed-format.md`` defines it.

- An output event *matches* a truth event when both have the same type and SKU and their times
  differ by at most ``MATCH_WINDOW_S``; matching is one-to-one, earliest first: truth events are
  taken in time order and each takes the earliest still-unmatched output event that qualifies.
- An ``unresolved`` output counts as its action with its first candidate (a replay has no
  shopper to ask); the share of outputs that needed that is the *unresolved share*.
- Precision, recall and F1 are over all events of all feeds (micro-averaged).
- A feed's final basket (adds minus removes, per SKU) is *exact* when it equals the truth's;
  per-kg SKUs also need their total grams (adds minus removes) within ``GRAMS_TOLERANCE`` of
  the truth's; an output without grams for a per-kg item cannot be priced, so it is not exact.
- Confusions: after matching, a leftover output and a leftover truth event of the same type
  within the window pair up (earliest first) as a wrong SKU; the rest are missed or extra.
- Time error: output ``t`` minus truth ``t`` over matched events (median and p95 of its size).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from smartcart.catalog import Catalog, Pricing
from smartcart.feed.format import TruthEvent

MATCH_WINDOW_S = 2.0
GRAMS_TOLERANCE = 0.05


@dataclass(frozen=True, slots=True)
class Resolved:
    """An event as the scorer sees it: unresolved ones already take their first candidate."""

    t: float
    action: str  # add | remove
    sku: str
    grams: int | None
    was_unresolved: bool

    @staticmethod
    def of(event: TruthEvent) -> Resolved:
        action, sku = event.resolved()
        return Resolved(event.t, action, sku, event.grams, event.type == "unresolved")


@dataclass(frozen=True)
class FeedScore:
    name: str
    truth: int
    output: int
    matched: int
    unresolved: int
    exact_basket: bool
    time_errors_s: tuple[float, ...]  # output t - truth t per match
    confusions: tuple[tuple[str, str, str], ...]  # (action, truth sku, output sku)
    missed: tuple[tuple[str, str], ...]  # (action, sku) of truth events left over
    extra: tuple[tuple[str, str], ...]  # (action, sku) of output events left over
    basket_diff: tuple[str, ...] = field(default=())  # why the basket is not exact


@dataclass(frozen=True)
class Score:
    feeds: tuple[FeedScore, ...]

    @property
    def truth(self) -> int:
        return sum(f.truth for f in self.feeds)

    @property
    def output(self) -> int:
        return sum(f.output for f in self.feeds)

    @property
    def matched(self) -> int:
        return sum(f.matched for f in self.feeds)

    @property
    def precision(self) -> float:
        return self.matched / self.output if self.output else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def unresolved_share(self) -> float:
        return sum(f.unresolved for f in self.feeds) / self.output if self.output else 0.0

    @property
    def exact_basket_rate(self) -> float:
        return sum(f.exact_basket for f in self.feeds) / len(self.feeds) if self.feeds else 0.0

    def time_errors_s(self) -> np.ndarray:
        return np.array([e for f in self.feeds for e in f.time_errors_s])

    def confusions(self) -> list[tuple[str, str, int]]:
        """(truth sku, output sku, count), most frequent first."""
        counts = Counter((t, o) for f in self.feeds for _, t, o in f.confusions)
        return [(t, o, n) for (t, o), n in counts.most_common()]

    def to_json(self) -> dict[str, object]:
        errors = np.abs(self.time_errors_s())
        return {
            "feeds": len(self.feeds),
            "truth_events": self.truth,
            "output_events": self.output,
            "matched": self.matched,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "unresolved_share": self.unresolved_share,
            "exact_basket_rate": self.exact_basket_rate,
            "time_error_s": {
                "median": float(np.median(errors)) if len(errors) else None,
                "p95": float(np.percentile(errors, 95)) if len(errors) else None,
                "median_signed": float(np.median(self.time_errors_s())) if len(errors) else None,
            },
            "confusions": [{"truth": t, "output": o, "count": n} for t, o, n in self.confusions()],
            "per_feed": [
                {
                    "feed": f.name,
                    "truth_events": f.truth,
                    "output_events": f.output,
                    "matched": f.matched,
                    "unresolved": f.unresolved,
                    "exact_basket": f.exact_basket,
                    "basket_diff": list(f.basket_diff),
                    "missed": [{"type": a, "sku": s} for a, s in f.missed],
                    "extra": [{"type": a, "sku": s} for a, s in f.extra],
                }
                for f in self.feeds
            ],
        }


def _pair(
    truth: Sequence[Resolved], output: Sequence[Resolved], same_sku: bool
) -> tuple[list[tuple[int, int]], set[int], set[int]]:
    """One-to-one pairs (truth index, output index), earliest first, and what is left over."""
    free = set(range(len(output)))
    pairs = []
    for ti in sorted(range(len(truth)), key=lambda i: truth[i].t):
        t = truth[ti]
        fits = [
            oi
            for oi in free
            if output[oi].action == t.action
            and (output[oi].sku == t.sku) == same_sku
            and abs(output[oi].t - t.t) <= MATCH_WINDOW_S
        ]
        if fits:
            oi = min(fits, key=lambda i: (output[i].t, i))
            free.remove(oi)
            pairs.append((ti, oi))
    left_truth = set(range(len(truth))) - {ti for ti, _ in pairs}
    return pairs, left_truth, free


def _basket(events: Sequence[Resolved]) -> tuple[Counter[str], Counter[str], set[str]]:
    """Final (count per SKU, grams per SKU, SKUs with an event lacking grams)."""
    count: Counter[str] = Counter()
    grams: Counter[str] = Counter()
    no_grams: set[str] = set()
    for e in events:
        sign = 1 if e.action == "add" else -1
        count[e.sku] += sign
        if e.grams is None:
            no_grams.add(e.sku)
        else:
            grams[e.sku] += sign * abs(e.grams)
    return count, grams, no_grams


def basket_differences(
    truth: Sequence[Resolved], output: Sequence[Resolved], catalog: Mapping[str, object]
) -> list[str]:
    """Why the output's final basket differs from the truth's (empty: exact)."""
    t_count, t_grams, _ = _basket(truth)
    o_count, o_grams, o_no_grams = _basket(output)
    problems = []
    for sku in sorted(set(t_count) | set(o_count)):
        if t_count[sku] != o_count[sku]:
            problems.append(f"{sku}: {o_count[sku]} in the basket, truth {t_count[sku]}")
            continue
        product = catalog.get(sku)
        per_kg = getattr(product, "pricing", None) is Pricing.PER_KG
        if not per_kg or t_count[sku] == 0 and t_grams[sku] == 0:
            continue
        if sku in o_no_grams:
            problems.append(f"{sku}: sold per kg, but the output has no grams")
        elif abs(o_grams[sku] - t_grams[sku]) > GRAMS_TOLERANCE * abs(t_grams[sku]):
            problems.append(f"{sku}: {o_grams[sku]} g, truth {t_grams[sku]} g (over 5% off)")
    return problems


def score_feed(
    name: str, truth: Sequence[TruthEvent], output: Sequence[TruthEvent], catalog: Catalog
) -> FeedScore:
    t = [Resolved.of(e) for e in truth]
    o = [Resolved.of(e) for e in output]
    matches, left_t, left_o = _pair(t, o, same_sku=True)
    rest_t, rest_o = [t[i] for i in sorted(left_t)], [o[i] for i in sorted(left_o)]
    wrong, missed, extra = _pair(rest_t, rest_o, same_sku=False)
    diff = basket_differences(t, o, catalog)
    return FeedScore(
        name=name,
        truth=len(t),
        output=len(o),
        matched=len(matches),
        unresolved=sum(e.was_unresolved for e in o),
        exact_basket=not diff,
        time_errors_s=tuple(o[oi].t - t[ti].t for ti, oi in matches),
        confusions=tuple((rest_t[a].action, rest_t[a].sku, rest_o[b].sku) for a, b in wrong),
        missed=tuple((rest_t[i].action, rest_t[i].sku) for i in sorted(missed)),
        extra=tuple((rest_o[i].action, rest_o[i].sku) for i in sorted(extra)),
        basket_diff=tuple(diff),
    )


def score(
    runs: Sequence[tuple[str, Sequence[TruthEvent], Sequence[TruthEvent]]], catalog: Catalog
) -> Score:
    """Score (feed name, truth, output) triples together."""
    return Score(tuple(score_feed(name, t, o, catalog) for name, t, o in runs))
