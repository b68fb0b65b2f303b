"""The product's accuracy: rendered feeds from seeds no model was trained on, replayed through
the real pipeline with the shipped models, scored by ``smartcart.feed.score``.

Feeds come from ``host.sim.cached_feed`` (rendered once, then cached); the detector and
recognizer from the checksummed ``models/manifest.json``. Skipped, with the reason, where no
detector has been released yet.
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
def test_replay_of_unseen_rendered_feeds_meets_the_goals() -> None:
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
    print(s.to_json())
    assert s.f1 >= 0.97
    assert s.exact_basket_rate >= 0.9
