"""Test rig for the live daemon: a real jackd (dummy backend), the daemon as a
subprocess, and feeder/recorder JACK clients that talk to it through ports."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jack
import numpy as np

from automixd.adapters.jackserver import jack_env

AUTOMIXD = str(Path(sys.executable).parent / "automixd")


def wait_for(predicate, timeout_s: float, what: str, poll_s: float = 0.02):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class DaemonProc:
    """``automixd run`` on a given JACK server, its log collected from stderr."""

    def __init__(self, server: str, scene: Path, name: str, log_path: Path, backend: str = "jack",
                 extra: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.server = server
        self.name = name
        self.log_path = log_path
        cmd = [AUTOMIXD, "run", "--backend", backend, "--jack-server", server, "--jack-name", name,
               "--scene", str(scene), "--no-meters"] + (extra or [])
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env={**jack_env(server), **(env or {})}, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout_s: float = 180.0, after: int = 0) -> re.Match:
        def find():
            if self.proc.poll() is not None:
                raise AssertionError(f"automixd exited with {self.proc.returncode}:\n{self.log()}")
            return re.search(pattern, self.log()[after:])

        try:
            return wait_for(find, timeout_s, f"log line /{pattern}/")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- daemon log ---\n{self.log()}") from None

    @property
    def first_frame(self) -> int:
        return int(self.wait_log(r"first cycle at JACK frame (\d+)", 180).group(1))

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout_s: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def client(server: str, name: str) -> jack.Client:
    os.environ.update(JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
    return jack.Client(name, no_start_server=True, servername=server)


class Player:
    """Plays ``signal`` (rows = ports) once armed, and records other ports, frame-stamped.

    The feeder and the recorder are separate clients so JACK orders the
    graph feeder -> daemon -> recorder within one cycle.
    """

    def __init__(self, server: str, n_out: int, n_in: int, tag: str) -> None:
        self.feed = client(server, f"feed-{tag}")
        self.rec = client(server, f"rec-{tag}")
        self.outs = [self.feed.outports.register(f"out_{i + 1}") for i in range(n_out)]
        self.ins = [self.rec.inports.register(f"in_{i + 1}") for i in range(n_in)]
        self.signal = np.zeros((n_out, 0), dtype=np.float32)
        self.loop = False
        self.pos = 0
        self.start_frame: int | None = None
        self.armed = threading.Event()
        self.recording = threading.Event()
        self.blocks: list[tuple[int, np.ndarray]] = []
        self._closing = threading.Event()
        self._freewheeling = False
        self._calls = {"feed": 0, "rec": 0}
        self._ended: dict[str, int] = {}  # client -> native id of its ended process thread
        self.feed.set_process_callback(self._play)
        self.rec.set_process_callback(self._record)
        self.feed.activate()
        self.rec.activate()

    def _end_if_closing(self, name: str) -> None:
        self._calls[name] += 1
        if self._closing.is_set():
            self._ended[name] = threading.get_native_id()
            raise jack.CallbackExit  # libjack deactivates the client and ends this thread

    def _play(self, frames: int) -> None:
        self._end_if_closing("feed")
        if not self.armed.is_set():
            for p in self.outs:
                p.get_array()[:] = 0.0
            return
        if self.start_frame is None:
            self.start_frame = self.feed.last_frame_time
        n_sig = self.signal.shape[1]
        for row, p in enumerate(self.outs):
            buf = p.get_array()
            if self.loop:
                idx = (self.pos + np.arange(frames)) % n_sig
                buf[:] = self.signal[row, idx]
            else:
                chunk = self.signal[row, self.pos:self.pos + frames]
                buf[:len(chunk)] = chunk
                buf[len(chunk):] = 0.0
        self.pos += frames

    def _record(self, frames: int) -> None:
        self._end_if_closing("rec")
        if self.recording.is_set():
            data = np.stack([p.get_array().copy() for p in self.ins]) if self.ins else None
            self.blocks.append((self.rec.last_frame_time, data))

    def freewheel(self, cycles: int = 16, timeout_s: float = 30.0) -> None:
        """Switch the server to freewheeling and return once it has run ``cycles`` there.

        JACK's frame clock can jump as freewheeling starts (seen: the feeder's
        first armed cycle read frame 534336, the recorder's first block, which
        should be the same cycle or the one before, 14567872), so the signal is
        armed only after the switch has settled.
        """
        self.feed.set_freewheel(True)
        self._freewheeling = True
        at = self._calls["feed"]
        wait_for(lambda: self._calls["feed"] >= at + cycles, timeout_s, "freewheeling cycles")

    def end_freewheel(self) -> None:
        """Stop recording, then return the server to real time: recording stops while
        still freewheeling, where this Python client misses no period."""
        self.recording.clear()
        self.feed.set_freewheel(False)
        self._freewheeling = False

    def play(self, signal: np.ndarray, loop: bool = False) -> None:
        self.signal = np.ascontiguousarray(signal, dtype=np.float32)
        self.loop = loop
        self.recording.set()
        self.armed.set()

    def played(self) -> int:
        return self.pos

    def covered(self, n: int) -> bool:
        """Whether the recorder has taken the cycles holding the signal's first ``n`` frames.

        The feeder counts a cycle as played before the recorder, later in the
        same graph cycle, has copied it: waiting on ``played()`` alone can stop
        the recording one block short.
        """
        blocks = self.blocks
        if self.start_frame is None or not blocks:
            return False
        last_frame, last = blocks[-1]
        if last is None:  # nothing to record: the feeder's count is all there is
            return self.pos >= n
        return last_frame + last.shape[1] >= self.start_frame + n

    def recorded(self, allow_gaps: bool = False) -> tuple[int, np.ndarray]:
        """First frame time and the recorded samples (ports, frames).

        Outside freewheel mode this Python client may miss a period; pass
        ``allow_gaps`` where only levels matter.
        """
        blocks = list(self.blocks)
        frames = [f for f, _ in blocks]
        sizes = [d.shape[1] for _, d in blocks]
        gaps = [i for i in range(1, len(blocks)) if frames[i] != frames[i - 1] + sizes[i - 1]]
        assert allow_gaps or not gaps, f"recording has gaps at blocks {gaps[:5]}"
        return frames[0], np.concatenate([d for _, d in blocks], axis=1)

    def during_signal(self, n: int) -> np.ndarray:
        """The recorded frames that coincide with the first ``n`` frames of the signal."""
        first, y = self.recorded()
        at = self.start_frame - first
        assert 0 <= at and at + n <= y.shape[1], (
            f"the recording does not cover the signal: it starts {at} frames before the signal"
            f" and holds {y.shape[1]} frames, the signal {n}")
        return y[:, at:at + n]

    def close(self, timeout_s: float = 5.0) -> None:
        """End both process threads from inside their callbacks, then close the clients.

        JACK2's ``jack_deactivate`` stops a client's process thread with
        ``pthread_cancel``. Landing while that thread is in this Python callback
        (holding the GIL, or waiting for it) the cancel leaves the GIL locked
        for good: seen here as a test process whose every thread waited for the
        GIL once ``deactivate()`` had returned. A callback that raises
        ``CallbackExit`` makes libjack deactivate the client and end the
        thread itself, outside Python, so ``deactivate()`` has nothing left to
        cancel. If the graph is not running (no callback comes) there is
        nothing in flight to cancel either. A server this player left
        freewheeling (a test that failed before ``end_freewheel``) is returned
        to real time first: the server outlives the player.
        """
        if self._freewheeling:
            self.end_freewheel()
        self._closing.set()
        deadline = time.monotonic() + timeout_s
        calls, still_at = dict(self._calls), time.monotonic()
        while time.monotonic() < deadline and not self._threads_ended():
            time.sleep(0.005)
            if self._calls != calls:
                calls, still_at = dict(self._calls), time.monotonic()
            elif time.monotonic() - still_at > 0.5:
                break  # no cycles: the threads wait in libjack, where a cancel is safe
        for c in (self.feed, self.rec):
            c.deactivate()
            c.close()

    def _threads_ended(self) -> bool:
        return len(self._ended) == 2 and not any(
            os.path.exists(f"/proc/self/task/{tid}") for tid in self._ended.values())
