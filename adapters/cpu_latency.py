"""Ask the kernel to keep the CPUs out of slow idle states (PM QoS CPU latency).

Between two periods the audio thread sleeps; a CPU with nothing else to do
then idles, and waking it from a deep idle state (on a virtual machine: a
halted vCPU the host must schedule again) delays the next period. Holding
``/dev/cpu_dma_latency`` open with a limit in microseconds makes the cpuidle
governor use only states that wake within it; 0 means "poll", the CPU never
sleeps (more power, lowest wake-up latency). The request lasts while the file
is open and ends when it is closed or the process exits (see the kernel's
``Documentation/power/pm_qos_interface.rst``). Writing it needs root, or
write access to the device granted by a udev rule.
"""

from __future__ import annotations

import logging
import os
import struct
from typing import Self

log = logging.getLogger("automixd")

DEVICE = "/dev/cpu_dma_latency"


class CpuLatencyRequest:
    """A PM QoS CPU latency request held for the life of the object.

    Parameters
    ----------
    max_us : int
        Longest acceptable wake-up latency in microseconds (0: poll, never idle).
    device : str
        The PM QoS device node.

    Raises
    ------
    OSError
        When the device cannot be opened or written (no such device, no
        permission); the message says which.
    """

    def __init__(self, max_us: int, device: str = DEVICE) -> None:
        if max_us < 0:
            raise ValueError(f"CPU latency must be >= 0 us, got {max_us}")
        self.max_us = int(max_us)
        self._fd = os.open(device, os.O_WRONLY)
        try:
            os.write(self._fd, struct.pack("=i", self.max_us))  # a native s32, as the ABI says
        except OSError:
            os.close(self._fd)
            raise

    def close(self) -> None:
        """Drop the request (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def request_cpu_latency(max_us: int | None, device: str = DEVICE) -> CpuLatencyRequest | None:
    """Hold a CPU latency request, or log why not; None when not asked for or refused."""
    if max_us is None:
        return None
    try:
        req = CpuLatencyRequest(max_us, device)
    except (OSError, ValueError) as exc:
        log.warning("cannot limit CPU wake-up latency to %d us (%s: %s); running without",
                    max_us, device, exc)
        return None
    log.info("CPU wake-up latency limited to %d us while running (%s)", max_us, device)
    return req
