"""Start and stop a private JACK server (dummy backend) for headless machines and tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path


class JackServerError(RuntimeError):
    """jackd is missing or did not come up."""


def jack_env(name: str) -> dict[str, str]:
    """Environment for JACK clients of server ``name`` that never auto-start one."""
    env = dict(os.environ)
    env.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
    return env


def server_running(name: str | None = None, timeout_s: float = 2.0) -> bool:
    """True if a JACK server ``name`` (default: the default server) answers."""
    lsp = shutil.which("jack_lsp")
    if lsp is None:
        return False
    env = jack_env(name) if name else {**os.environ, "JACK_NO_START_SERVER": "1"}
    try:
        res = subprocess.run([lsp], env=env, capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False
    return res.returncode == 0 and b"Cannot connect" not in res.stderr


class DummyJackServer:
    """``jackd --no-realtime -n NAME -d dummy``, owned by this process.

    Parameters
    ----------
    name : str
        Private server name (``-n``); clients reach it with ``JACK_DEFAULT_SERVER``.
    rate : int
        Sample rate, Hz.
    period : int
        Frames per period.
    ports : int
        Capture and playback ports of the dummy driver.
    log : Path, optional
        Where jackd's output goes (its xrun reports name the late client).
    """

    def __init__(self, name: str, rate: int = 48000, period: int = 64, ports: int = 8,
                 log: Path | None = None, realtime: bool = False) -> None:
        self.name = name
        self.rate = rate
        self.period = period
        self.ports = ports
        self.log = log
        self.realtime = realtime
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    def start(self, timeout_s: float = 10.0) -> DummyJackServer:
        jackd = shutil.which("jackd")
        if jackd is None:
            raise JackServerError("jackd not found: install the Debian package jackd2 "
                                  "(apt-get install --no-install-recommends jackd2)")
        cmd = [jackd, "-R" if self.realtime else "--no-realtime", "-n", self.name, "-d", "dummy",
               "-r", str(self.rate), "-p", str(self.period),
               "-C", str(self.ports), "-P", str(self.ports)]
        out = subprocess.DEVNULL
        if self.log is not None:
            self._log_file = open(self.log, "ab")  # noqa: SIM115 - lives as long as the server
            out = self._log_file
        self.proc = subprocess.Popen(cmd, env=jack_env(self.name), stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise JackServerError(f"jackd exited with status {self.proc.returncode}: {' '.join(cmd)}")
            if server_running(self.name):
                return self
            time.sleep(0.05)
        self.stop()
        raise JackServerError(f"jackd did not answer within {timeout_s:.0f} s: {' '.join(cmd)}")

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> DummyJackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
