"""PM QoS CPU latency: while the request is held, the CPUs never enter a sleeping idle state."""

from __future__ import annotations

import glob
import logging
import os
import time

import pytest

from automixd.adapters.cpu_latency import DEVICE, CpuLatencyRequest, request_cpu_latency


def sleeping_idle_entries() -> int:
    """Entries into every idle state that is not plain polling, summed over the CPUs."""
    total = 0
    for state in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpuidle/state[0-9]*"):
        with open(f"{state}/name") as f:
            if f.read().strip() == "POLL":
                continue
        with open(f"{state}/usage") as f:
            total += int(f.read())
    return total


needs_pm_qos = pytest.mark.skipif(
    not os.access(DEVICE, os.W_OK) or not glob.glob("/sys/devices/system/cpu/cpu0/cpuidle/state1"),
    reason=f"needs write access to {DEVICE} and a cpuidle driver with a sleeping state")


@needs_pm_qos
def test_zero_latency_keeps_every_cpu_polling_until_released():
    with CpuLatencyRequest(0):
        time.sleep(0.05)  # a CPU already asleep finishes that one idle period
        before = sleeping_idle_entries()
        time.sleep(0.5)   # both CPUs mostly idle meanwhile
        held = sleeping_idle_entries() - before
    assert held == 0
    released = sleeping_idle_entries()
    deadline = time.monotonic() + 3.0
    while sleeping_idle_entries() == released and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleeping_idle_entries() > released  # idle states are used again once released


def test_refused_request_is_reported_and_the_daemon_runs_on(tmp_path, caplog):
    missing = str(tmp_path / "no_such_device")
    with caplog.at_level(logging.WARNING, logger="automixd"):
        assert request_cpu_latency(0, device=missing) is None
    assert "cannot limit CPU wake-up latency to 0 us" in caplog.text
    assert missing in caplog.text
    assert request_cpu_latency(None) is None  # not asked for: nothing is opened


def test_negative_latency_is_refused():
    with pytest.raises(ValueError, match=">= 0 us"):
        CpuLatencyRequest(-1)
