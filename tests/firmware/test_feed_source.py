"""Feed replay source: timing from frames.csv, bad feeds, real-time pacing, USB camera errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic_feed import write_feed

from firmware.camera.feed import FeedSource
from firmware.camera.opencv_device import OpenCVCamera
from firmware.errors import CameraError, FeedError


def test_frames_follow_frames_csv_times(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "f", seconds=1.0)
    csv = feed / "frames.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([lines[0]] + [f"{i},{i * 0.1:.1f}" for i in range(len(lines) - 1)]))
    src = FeedSource(feed)
    frames = list(src.frames())
    assert [f.ts_ns for f in frames[:3]] == [0, 100_000_000, 200_000_000]
    assert frames[0].lores_bgr.shape == (240, 320, 3)


def test_without_frames_csv_times_come_from_fps(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "f", seconds=1.0)
    (feed / "frames.csv").unlink()
    frames = list(FeedSource(feed).frames())
    assert len(frames) == 15 and frames[3].ts_ns == 200_000_000


def test_wrong_format_is_a_feed_error(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "f", seconds=1.0)
    (feed / "meta.json").write_text(json.dumps({"format": "cartfeed/9"}))
    with pytest.raises(FeedError, match="cartfeed/1"):
        FeedSource(feed)


def test_unreadable_video_is_a_camera_error(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "f", seconds=1.0)
    (feed / "video.avi").write_bytes(b"not a video at all")
    with pytest.raises(CameraError):
        list(FeedSource(feed).frames())


def test_realtime_replay_paces_frames(tmp_path: Path) -> None:
    import time

    feed = write_feed(tmp_path / "f", seconds=0.5)
    start = time.monotonic()
    frames = list(FeedSource(feed, realtime=True).frames())
    assert time.monotonic() - start >= frames[-1].t_s - 0.05


def test_missing_usb_camera_is_a_camera_error() -> None:
    with pytest.raises(CameraError, match="cannot open camera"):
        OpenCVCamera(device="/nonexistent/video99")
