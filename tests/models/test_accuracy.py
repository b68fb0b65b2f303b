"""CI guard: the committed models still reach the model card's figures (minus a small margin).

Runs the cart's own ONNX Runtime path: the fp32 recognizer on the full test split (2,485 photos),
int8/fp32 top-1 agreement on every 10th test photo (int8 U8U8 is slow on x86 runners), and the
int8 detector on a small freshly rendered set from a seed never used in training.
"""

import numpy as np
import pytest

from models import manifest

RECOGNIZER_MARGIN = 0.01  # same images, same graph: only ORT kernel differences remain
AGREEMENT_MARGIN = 0.03  # 249 photos: one photo is 0.4 points
DETECTOR_MARGIN = 0.03


@pytest.mark.slow
def test_recognizer_on_the_test_split():
    from models import grocery
    from models.evaluate import evaluate_recognizer, predict_probs

    entry = manifest.entry("recognizer")
    card = entry.metrics
    reports, _ = evaluate_recognizer("test", variants=("fp32",))
    got = reports["fp32"]
    assert got.images == 2485
    assert got.fine_top1 >= card["fp32"]["fine_top1"] - RECOGNIZER_MARGIN
    assert got.coarse_top1 >= card["fp32"]["coarse_top1"] - RECOGNIZER_MARGIN

    subset = grocery.split("test")[::10]
    images = grocery.decode_all(subset)
    top1 = {
        v: predict_probs(manifest.verify(entry, v), entry.labels, images).argmax(1)
        for v in ("fp32", "int8")
    }
    agreement = float(np.mean(top1["fp32"] == top1["int8"]))
    assert agreement >= card["int8_fp32_top1_agreement"] - AGREEMENT_MARGIN


@pytest.mark.slow
def test_detector_int8_on_rendered_frames():
    pytest.importorskip("host.sim.trainset", reason="the simulator renders the evaluation frames")
    from models.detector_eval import evaluate_detector

    entry = manifest.entry("detector")
    ci = entry.metrics["ci_subset"]
    reports = evaluate_detector(frames=ci["frames"], variants=("int8",))
    assert reports["int8"].product_ap50 >= ci["int8_product_ap50"] - DETECTOR_MARGIN


@pytest.mark.slow
def test_store_head_on_simulator_crops(tmp_path):
    """The committed store head still lifts the recognizer on the cart's view (seed-3 crops)."""
    pytest.importorskip("host.sim.crops", reason="the simulator renders the crops")
    from firmware.vision.recognizer import Recognizer
    from firmware.vision.store_head import StoreHead
    from host.sim.crops import generate
    from models.store_head import embed

    card = manifest.entry("store-head").metrics
    crops = generate(tmp_path / "crops", 250, seed=3).parent
    entry = manifest.entry("recognizer")
    got = embed(Recognizer(manifest.load("recognizer", "fp32"), entry.labels, 2), [crops])
    head = StoreHead.load(manifest.load("store-head", "fp32"))
    mixed = float((head.mix(got.probs, got.embeddings).argmax(1) == got.labels).mean())
    model = float((got.probs.argmax(1) == got.labels).mean())
    assert len(got.labels) == card["val_crops"]
    assert mixed >= card["val_top1_mixed"] - RECOGNIZER_MARGIN
    assert mixed > model
