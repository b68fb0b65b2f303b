"""Reading and writing ``cartfeed/1`` feed folders (see ``shared/docs/feed-format.md``).

A feed folder holds ``meta.json`` (validated by pydantic, unknown keys refused so a typo is an
error, not a silently ignored setting), ``video.*``, and optionally ``frames.csv`` (frame_index,t),
``scale.csv`` (t,grams) and ``truth.jsonl`` (one basket event a line). Replay output uses the same
event lines, so the scorer reads both with ``read_events``; extra keys such as ``confidence``
are allowed there and ignored.

Kept light on purpose (numpy, cv2, pydantic, stdlib): the cart firmware's ``record`` and
``replay`` import it. Every error is a ``FeedError`` naming the file (and line).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smartcart.feed.errors import FeedError, FeedFormatError

FORMAT: Final = "cartfeed/1"
META, FRAMES, SCALE, TRUTH = "meta.json", "frames.csv", "scale.csv", "truth.jsonl"
EventType = Literal["add", "remove", "unresolved"]


class FeedMeta(BaseModel):
    """``meta.json``: what the recording is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["cartfeed/1"] = Field(default=FORMAT, description="Format tag")
    cart_id: str = Field(min_length=1, description="The cart that recorded (or was simulated)")
    fps: float = Field(
        gt=0, description="Nominal frame rate; frame i is at i/fps without frames.csv"
    )
    width: int = Field(gt=0, description="Video width, px")
    height: int = Field(gt=0, description="Video height, px")
    basket_polygon: tuple[tuple[float, float], ...] = Field(
        description="Inside of the basket as the camera sees it, normalised 0..1 (x right, y down)"
    )
    catalog: str = Field(default="grocery-store/81", description="Catalog the SKUs come from")
    source: Literal["recorded", "simulated"] = Field(description="Real cart or simulator")
    notes: str = Field(default="", description="Free text")

    @field_validator("basket_polygon")
    @classmethod
    def _polygon(cls, v: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        if len(v) < 3:
            raise ValueError(f"a polygon needs at least 3 points, got {len(v)}")
        if any(not (0.0 <= c <= 1.0) for point in v for c in point):
            raise ValueError("polygon coordinates are normalised: each must be within 0..1")
        return v

    def polygon_px(self) -> np.ndarray:
        """The basket polygon in pixels (float32 Nx2)."""
        return (np.array(self.basket_polygon) * (self.width, self.height)).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Candidate:
    sku: str
    score: float


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """One basket event of ``truth.jsonl`` or of a replay's output.

    ``t`` is seconds from the start of the feed (the format's own key name). ``add``/``remove``
    carry ``sku`` (and ``grams`` where the scale settled); ``unresolved`` carries ``action`` and
    ``candidates`` (best first) instead.
    """

    t: float
    type: EventType
    sku: str | None = None
    grams: int | None = None
    action: Literal["add", "remove"] | None = None
    candidates: tuple[Candidate, ...] = ()

    def __post_init__(self) -> None:
        if not math.isfinite(self.t) or self.t < 0:
            raise ValueError(f"t must be a finite number of seconds >= 0, got {self.t}")
        if self.type in ("add", "remove") and not self.sku:
            raise ValueError(f"an {self.type} event needs a sku")
        if self.type == "unresolved" and (self.action is None or not self.candidates):
            raise ValueError("an unresolved event needs an action and at least one candidate")

    def resolved(self) -> tuple[Literal["add", "remove"], str]:
        """(action, sku) as the scorer reads it: an unresolved event takes its first candidate."""
        if self.type == "unresolved":
            assert self.action is not None  # checked in __post_init__
            return self.action, self.candidates[0].sku
        assert self.sku is not None
        return self.type, self.sku

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"t": round(self.t, 3), "type": self.type}
        if self.type == "unresolved":
            out["action"] = self.action
            out["candidates"] = [{"sku": c.sku, "score": c.score} for c in self.candidates]
        else:
            out["sku"] = self.sku
            if self.grams is not None:
                out["grams"] = self.grams
        return out


class _EventLine(BaseModel):
    """Validation of one event line; extra keys (confidence, track_id, ...) are allowed."""

    model_config = ConfigDict(extra="ignore")

    t: float
    type: EventType
    sku: str | None = None
    grams: int | None = None
    action: Literal["add", "remove"] | None = None
    candidates: list[Candidate] = []


def _explain(e: ValidationError) -> str:
    """One line per problem, ``field: what is wrong``, instead of pydantic's multi-line text."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in e.errors()
    )


def parse_event(raw: dict[str, object]) -> TruthEvent:
    line = _EventLine.model_validate(raw)
    return TruthEvent(line.t, line.type, line.sku, line.grams, line.action, tuple(line.candidates))


def read_events(path: Path) -> list[TruthEvent]:
    """Events of a ``truth.jsonl`` or a replay's output (blank lines skipped), in file order."""
    events: list[TruthEvent] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise FeedError(f"{path}: cannot read: {e}") from e
    for lineno, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise ValueError("an event line must be a JSON object")
            events.append(parse_event(raw))
        except ValidationError as e:
            raise FeedFormatError(f"{path}:{lineno}: {_explain(e)}") from e
        except ValueError as e:  # also json.JSONDecodeError
            raise FeedFormatError(f"{path}:{lineno}: {e}") from e
    return events


def write_events(path: Path, events: Iterable[TruthEvent]) -> None:
    with Path(path).open("w", encoding="utf-8") as f:
        for event in events:
            f.write(json.dumps(event.to_json(), separators=(", ", ": ")) + "\n")


@dataclass(frozen=True)
class ScaleTrace:
    """The load cells' net weight: ``t_s`` and ``grams`` arrays of equal length."""

    t_s: np.ndarray
    grams: np.ndarray

    def at(self, t_s: float) -> float:
        """The last reading at or before ``t_s`` (the first one before the trace starts)."""
        i = int(np.searchsorted(self.t_s, t_s, side="right")) - 1
        return float(self.grams[max(i, 0)])


def _read_csv(path: Path, columns: tuple[str, str]) -> list[tuple[str, str, int]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or list(reader.fieldnames[:2]) != list(columns):
                raise FeedFormatError(f"{path}: header must be {','.join(columns)}")
            return [(row[columns[0]], row[columns[1]], n) for n, row in enumerate(reader, 2)]
    except OSError as e:
        raise FeedError(f"{path}: cannot read: {e}") from e


def read_scale(path: Path) -> ScaleTrace:
    t, g = [], []
    for ts, grams, lineno in _read_csv(path, ("t", "grams")):
        try:
            t.append(float(ts))
            g.append(float(grams))
        except (TypeError, ValueError) as e:
            raise FeedFormatError(f"{path}:{lineno}: {e}") from e
    t_s = np.array(t)
    if len(t_s) > 1 and np.any(np.diff(t_s) < 0):
        raise FeedFormatError(f"{path}: t must not go backwards")
    return ScaleTrace(t_s, np.array(g))


def read_frame_times(path: Path) -> np.ndarray:
    times: list[float] = []
    for index, ts, lineno in _read_csv(path, ("frame_index", "t")):
        try:
            i, t = int(index), float(ts)
        except (TypeError, ValueError) as e:
            raise FeedFormatError(f"{path}:{lineno}: {e}") from e
        if i != len(times):
            raise FeedFormatError(f"{path}:{lineno}: frame_index {i}, expected {len(times)}")
        times.append(t)
    return np.array(times)


def read_meta(path: Path) -> FeedMeta:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise FeedError(f"{path}: cannot read: {e}") from e
    except json.JSONDecodeError as e:
        raise FeedFormatError(f"{path}: not JSON: {e}") from e
    try:
        return FeedMeta.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in e.errors()
        )
        raise FeedFormatError(f"{path}: {problems}") from e


@dataclass(frozen=True)
class Feed:
    """An opened feed folder: its validated meta and where its parts are."""

    path: Path
    meta: FeedMeta
    video: Path

    @property
    def name(self) -> str:
        return self.path.name

    def frame_times(self, count: int | None = None) -> np.ndarray:
        """Seconds per frame index: frames.csv, else ``i / fps`` for ``count`` frames."""
        if (self.path / FRAMES).is_file():
            return read_frame_times(self.path / FRAMES)
        if count is None:
            count = int(cv2.VideoCapture(str(self.video)).get(cv2.CAP_PROP_FRAME_COUNT))
        return np.arange(count) / self.meta.fps

    def scale(self) -> ScaleTrace | None:
        return read_scale(self.path / SCALE) if (self.path / SCALE).is_file() else None

    def truth(self) -> list[TruthEvent] | None:
        return read_events(self.path / TRUTH) if (self.path / TRUTH).is_file() else None

    def frames(self) -> Iterator[tuple[int, float, np.ndarray]]:
        """(index, t in s, BGR frame) for every decodable frame, in order."""
        cap = cv2.VideoCapture(str(self.video))
        if not cap.isOpened():
            raise FeedError(f"{self.video}: OpenCV cannot open it")
        times = self.frame_times() if (self.path / FRAMES).is_file() else None
        try:
            index = 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    return
                t = float(times[index]) if times is not None and index < len(times) else None
                yield index, (index / self.meta.fps if t is None else t), frame
                index += 1
        finally:
            cap.release()


def open_feed(path: Path) -> Feed:
    path = Path(path)
    if not path.is_dir():
        raise FeedError(f"{path}: not a feed folder")
    meta = read_meta(path / META)
    videos = sorted(p for p in path.glob("video.*") if p.is_file())
    if not videos:
        raise FeedError(f"{path}: no video.* file")
    return Feed(path, meta, videos[0])


class FeedWriter:
    """Writes a feed folder: meta.json first, frames as they come, the rest at the end.

    The video is MJPEG in AVI through OpenCV's own encoder (``CAP_OPENCV_MJPEG``), which needs
    no FFmpeg and is byte-for-byte deterministic for the same frames and quality.
    """

    def __init__(self, out_dir: Path, meta: FeedMeta, *, jpeg_quality: int = 85) -> None:
        self.path = Path(out_dir)
        self.path.mkdir(parents=True, exist_ok=True)
        self.meta = meta
        (self.path / META).write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
        self._video = cv2.VideoWriter(
            str(self.path / "video.avi"),
            cv2.CAP_OPENCV_MJPEG,
            cv2.VideoWriter.fourcc(*"MJPG"),
            meta.fps,
            (meta.width, meta.height),
        )
        if not self._video.isOpened():
            raise FeedError(f"{self.path}: OpenCV cannot write video.avi")
        self._video.set(cv2.VIDEOWRITER_PROP_QUALITY, jpeg_quality)
        self._times: list[float] = []

    def write_frame(self, bgr: np.ndarray, t_s: float) -> None:
        if bgr.shape != (self.meta.height, self.meta.width, 3):
            raise FeedError(
                f"frame shape {bgr.shape}, expected {(self.meta.height, self.meta.width, 3)}"
            )
        self._video.write(bgr)
        self._times.append(t_s)

    def write_scale(
        self, t_s: Sequence[float] | np.ndarray, grams: Sequence[float] | np.ndarray
    ) -> None:
        with (self.path / SCALE).open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(("t", "grams"))
            w.writerows((f"{t:.3f}", f"{g:.1f}") for t, g in zip(t_s, grams, strict=True))

    def write_truth(self, events: Iterable[TruthEvent]) -> None:
        write_events(self.path / TRUTH, events)

    def close(self) -> Path:
        self._video.release()
        with (self.path / FRAMES).open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(("frame_index", "t"))
            w.writerows((i, f"{t:.4f}") for i, t in enumerate(self._times))
        return self.path

    def __enter__(self) -> FeedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
