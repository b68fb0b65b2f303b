"""The recognizer's training loop on a handful of images: runs, records, mixes in sim crops."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from tiny_onnx import tiny_recognizer  # noqa: E402

from host.sim.crops import generate  # noqa: E402
from models import grocery  # noqa: E402
from models.train_recognizer import RecognizerTrainConfig, train  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("distilled", [False, True])
def test_one_epoch_of_a_longer_schedule_with_sim_crops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, distilled: bool
) -> None:
    crops = generate(tmp_path / "crops", 4, seed=21, size_px=(320, 240), progress=False).parent
    few, icons = grocery.split("train")[::400], grocery.iconic()[:2]
    monkeypatch.setattr(grocery, "split", lambda name: few if name == "train" else few[:3])
    monkeypatch.setattr(grocery, "iconic", lambda: icons)
    cfg = RecognizerTrainConfig(tmp_path / "run", size_px=64, epochs=3, stop_after=1,
                                low_res_epochs=0, batch=4, threads=1, sim_crops_dir=crops,
                                sim_val_dir=crops, sim_per_epoch=6)  # fmt: skip
    if distilled:
        classes = len(grocery.classes())
        w = np.random.default_rng(0).normal(size=(3, classes))
        teacher = tiny_recognizer(tmp_path / "teacher.onnx", w)
        cfg = dataclasses.replace(cfg, teacher=teacher)
    run = train(cfg)
    record = json.loads((run / "history.jsonl").read_text().splitlines()[-1])
    assert record["epoch"] == 1
    assert 0.0 <= record["val_top1_ema"] <= 1.0
    assert 0.0 <= record["val_sim_top1_ema"] <= 1.0
    assert (run / "ema_epoch01.pt").is_file()
    assert not (run / "ema_epoch02.pt").exists()  # stop_after ends a longer schedule early
