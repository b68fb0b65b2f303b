"""Frame sources: one interface (``FrameSource``) over the Pi camera, a USB camera and a feed.

Each source yields ``Frame`` values: a small ``lores_bgr`` image for detection and motion and the
full-resolution ``main_bgr`` for recognition crops, both stamped with the capture time in
nanoseconds. Live sources always hand out the newest frame and count the ones they dropped;
none builds a backlog.
"""

from firmware.camera.frames import Frame, FrameSource, SourceStats, lores_size

__all__ = ["Frame", "FrameSource", "SourceStats", "lores_size"]
