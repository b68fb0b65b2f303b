"""The product's accuracy: rendered feeds from seeds no model was trained on, replayed through
the real pipeline with the shipped models, scored by ``smartcart.feed.score``.

Feeds come from ``host.sim.cached_feed`` (rendered once, then cached); the detector and
recognizer from the checksummed ``models/manifest.json``. Skipped, with the reason, where no
detector has been released yet.

The goals (issue 4) are event F1 >= 0.97 and exact baskets >= 90%. With the v1.0.0 models these
four feeds scored F1 0.36 (the recognizer named 1 in 2 rendered crops right); with v1.1.0 (trained
on simulator crops too) and the weight-led fusion F1 0.84, exact baskets 50%; with the basket
ledger, the scale's own events and recognizer v1.2.0, F1 0.96, exact baskets 75%. These feeds
were among those the fusion was tuned on (held-out feeds score lower: docs/firmware.md), and the
goal is not met, so this test asserts a regression floor under today's figure and prints the
figures; raise the floor as the models improve.
"""

from __future__ import annotations

import pytest

from firmware.models import open_models
from firmware.replay import event_dict, replay_feed
from smartcart.catalog import default_catalog
from smartcart.feed.format import parse_event, read_events
from smartcart.feed.score import score

SEEDS = (424201, 424202, 424203, 424204)  # feed seeds: never used for any training set
DURATION_S = 45.0


def _released(name: str) -> bool:
    from models import manifest

    try:
        return name in manifest.read()
    except (manifest.ManifestError, OSError):
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _released("detector"), reason="no detector in models/manifest.json yet")
def test_replay_of_unseen_rendered_feeds() -> None:
    from host.sim import cached_feed

    catalog = default_catalog()
    det, rec = open_models(catalog)
    runs = []
    for seed in SEEDS:
        feed = cached_feed(seed, duration_s=DURATION_S)
        result = replay_feed(feed, det, rec, catalog)
        output = [parse_event(event_dict(c)) for c in result.changes]
        runs.append((feed.name, read_events(feed / "truth.jsonl"), output))
    s = score(runs, catalog)
    print(
        f"F1 {s.f1:.3f} (goal 0.97), exact baskets {s.exact_basket_rate:.0%} (goal 90%), "
        f"unresolved {s.unresolved_share:.0%}, events {s.output} out / {s.truth} true"
    )
    assert s.f1 >= 0.90  # regression floor under today's 0.96: see the module docstring
    assert s.exact_basket_rate >= 0.5  # today 3 of 4
    assert s.output >= s.truth // 2  # the pipeline sees most gestures at all
