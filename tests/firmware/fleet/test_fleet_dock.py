"""The dock reed switch on real GPIO: only on a Raspberry Pi (marker ``pi``)."""

from __future__ import annotations

import pytest

from firmware.fleet.dock import DockSensor
from firmware.fleet.errors import FleetError


@pytest.mark.pi
def test_dock_switch_reads_on_a_pi():
    pytest.importorskip("lgpio", reason="lgpio exists only on a Raspberry Pi")
    sensor = DockSensor()
    try:
        assert sensor.docked() in (True, False)
    finally:
        sensor.close()


def test_off_the_pi_the_sensor_says_why():
    try:
        import lgpio  # noqa: F401
    except ImportError:
        with pytest.raises(FleetError, match="not a Raspberry Pi"):
            DockSensor()
    else:
        pytest.skip("lgpio is installed: this test is for machines without it")
