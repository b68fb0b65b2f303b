"""Multi-object tracking of detected products and hands (see ``bytetrack`` for the why)."""

from firmware.track.bytetrack import ByteTracker, TrackedObject

__all__ = ["ByteTracker", "TrackedObject"]
