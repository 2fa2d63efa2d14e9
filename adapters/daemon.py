"""``automixd run``: the live daemon's control loop.

The audio runs in a compiled callback (JACK or PortAudio); this module only
chooses the backend, builds the engine, and then watches: SIGTERM/SIGINT
stop it with a fade, SIGHUP reloads the scene (a broken scene is reported
and the old one keeps playing), a vanished JACK server is retried until it
is back with the daemon's ports and connections, and systemd hears
``READY=1``, ``STATUS=`` and watchdog pings while the audio keeps running.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from ..engine import SceneError
from ..engine.live import LiveEngine
from ..engine.scene import Scene
from .cpu_latency import request_cpu_latency
from .memory import lock_memory

log = logging.getLogger("automixd")

#: Seconds between attempts to reach a JACK server that went away.
RETRY_S = 1.0
#: Control loop period; meters refresh at this rate (X32 meters are 50 ms).
TICK_S = 0.05


class _JournalFormatter(logging.Formatter):
    """``<priority>message`` lines, which journald files at the right level (sd-daemon(3))."""

    LEVELS = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
              logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.LEVELS.get(record.levelno, 6)}>{record.name}: {record.getMessage()}"


def setup_logging(level: str = "info") -> None:
    """Log to stderr: sd-daemon priority prefixes under systemd, timestamps otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s",
                                               "%H:%M:%S"))
    root = logging.getLogger("automixd")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


class SdNotify:
    """sd_notify(3) without a dependency: datagrams to ``$NOTIFY_SOCKET`` (no-op without it)."""

    def __init__(self) -> None:
        addr = os.environ.get("NOTIFY_SOCKET", "")
        self.sock = None
        if addr:
            self.addr = "\0" + addr[1:] if addr.startswith("@") else addr
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        usec = os.environ.get("WATCHDOG_USEC", "")
        self.watchdog_s = int(usec) / 2e6 if usec.isdigit() else 0.0

    def send(self, *lines: str) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendto("\n".join(lines).encode(), self.addr)
        except OSError as exc:
            log.debug("sd_notify failed: %s", exc)


class Daemon:
    """The live mixer process.

    Parameters
    ----------
    scene_path : Path, optional
        Scene file; a one-channel default scene if None.
    backend : {"auto", "jack", "portaudio"}
    client_name : str
        JACK client name (``--jack-name``).
    server : str, optional
        JACK server name; default ``$JACK_DEFAULT_SERVER`` or JACK's default.
    device : str, optional
        PortAudio device (name substring or index).
    meters : bool
        Draw live meters on the terminal.
    cpu_latency_us : int, optional
        Hold a PM QoS CPU latency request of this many microseconds while
        running (see :mod:`.cpu_latency`); None leaves the CPUs' idle alone.
    """

    def __init__(self, scene_path: Path | None, backend: str = "auto", client_name: str = "automixd",
                 server: str | None = None, device: str | None = None, meters: bool = False,
                 cpu_latency_us: int | None = None) -> None:
        self.scene_path = scene_path
        self.backend_kind = backend
        self.client_name = client_name
        self.server = server or os.environ.get("JACK_DEFAULT_SERVER") or None
        self.device = int(device) if device is not None and device.isdigit() else device
        self.meters = meters
        self.cpu_latency_us = cpu_latency_us
        self._cpu_latency = None
        self.private = None
        self.backend = None
        self.live: LiveEngine | None = None
        self.notify = SdNotify()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._last_cycles = -1
        self._last_progress = time.monotonic()

    # -- start-up ----------------------------------------------------------------
    def _load_scene(self) -> Scene:
        if self.scene_path is None:
            return Scene.from_dict({"channels": 1}, source="built-in scene")
        return Scene.load(self.scene_path)

    def _choose_backend(self) -> str:
        from .jackserver import server_running  # noqa: PLC0415

        if self.backend_kind != "auto":
            return self.backend_kind
        if server_running(self.server):
            log.info("using the running JACK server %r", self.server or "default")
            return "jack"
        from .portaudio_backend import default_device_usable  # noqa: PLC0415

        if default_device_usable():
            log.info("no JACK server: using the default PortAudio device")
            return "portaudio"
        from .jackserver import DummyJackServer, JackServerError  # noqa: PLC0415

        self.server = f"automixd-{os.getpid()}"
        log.warning("no JACK server and no audio device: starting a private JACK server %r "
                    "with the dummy backend (no sound is heard; connect clients with "
                    "JACK_DEFAULT_SERVER=%s)", self.server, self.server)
        try:
            # real-time scheduling where allowed: without it the dummy driver's own
            # timer misses periods (34 xruns in 25 s here; none with -R)
            self.private = DummyJackServer(self.server, rate=48000, period=64, ports=8,
                                           realtime=True).start()
        except JackServerError as exc:
            log.info("jackd -R did not start (%s); starting it without real-time scheduling", exc)
            self.private = DummyJackServer(self.server, rate=48000, period=64, ports=8).start()
        return "jack"

    def _make_backend(self, kind: str, scene: Scene):
        if kind == "jack":
            from . import jack_backend as jb  # noqa: PLC0415

            rate = jb.JackBackend.probe_rate(self.server)
            scene = self._at_rate(scene, rate, "the JACK server")
            jb.warm_up()
            self.live = LiveEngine(scene)
            return jb.JackBackend(self.live, self.client_name, self.server)
        if kind == "portaudio":
            from . import portaudio_backend as pb  # noqa: PLC0415

            rate = pb.PortAudioBackend.device_rate(self.device, self.client_name)
            scene = self._at_rate(scene, rate, "the device")
            pb.warm_up()
            self.live = LiveEngine(scene, outputs_by_position=True)  # device channels are fixed
            return pb.PortAudioBackend(self.live, self.device, self.client_name)
        raise ValueError(f"unknown backend {kind!r} (auto, jack, portaudio)")

    @staticmethod
    def _at_rate(scene: Scene, rate: int, who: str) -> Scene:
        if scene.sample_rate != rate:
            log.warning("the scene asks for %d Hz but %s runs at %d Hz: running at %d Hz",
                        scene.sample_rate, who, rate, rate)
            scene = dataclasses.replace(scene, sample_rate=rate)
        return scene

    # -- the loop ----------------------------------------------------------------
    def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT, stop. Returns the exit status."""
        try:
            scene = self._load_scene()
        except SceneError as exc:
            log.error("%s", exc)
            return 1
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())
        try:
            self.backend = self._make_backend(self._choose_backend(), scene)
            self.backend.start()
        except Exception as exc:  # noqa: BLE001 - every start-up failure ends here, reported
            log.error("cannot start: %s", exc)
            self._shutdown()
            return 1
        self._cpu_latency = request_cpu_latency(self.cpu_latency_us)
        gc.freeze()  # start-up objects never need collecting; keeps GC passes short
        log.info("running scene %s: %d channels, %d buses; latency %d samples",
                 scene.source, len(scene.channels), len(scene.buses), self.live.latency)
        self.notify.send("READY=1", f"STATUS=running {scene.source}")
        meters = _TerminalMeters(self.live, self.backend) if self.meters else None
        last_ping = last_peers = last_xrun_log = 0.0
        xruns_logged = oversize_logged = 0
        try:
            while not self._stop.wait(TICK_S):
                now = time.monotonic()
                if self._reload.is_set():
                    self._reload.clear()
                    self.reload()
                if self.backend.lost.is_set():
                    self._recover()
                    continue
                if now - last_peers > 1.0:
                    self.backend.remember_peers()
                    last_peers = now
                if self.backend.xruns != xruns_logged and now - last_xrun_log > 10.0:
                    # rate-limited: an xrun storm must not become a log storm
                    log.warning("%d xrun(s) since the last report (%d in all); DSP load %.1f %%",
                                self.backend.xruns - xruns_logged, self.backend.xruns,
                                self.backend.cpu_load())
                    xruns_logged, last_xrun_log = self.backend.xruns, now
                if self.live.oversize != oversize_logged:
                    log.error("%d period(s) longer than %d frames were answered with silence",
                              self.live.oversize - oversize_logged, int(self.live.phys_in.shape[1]))
                    oversize_logged = self.live.oversize
                if self.notify.watchdog_s and now - last_ping > self.notify.watchdog_s:
                    if self._audio_alive(now):
                        self.notify.send("WATCHDOG=1")
                    last_ping = now
                if meters is not None:
                    meters.draw()
        finally:
            if meters is not None:
                meters.close()
            self.notify.send("STOPPING=1")
            log.info("stopping")
            self._shutdown()
        return 0

    def _audio_alive(self, now: float) -> bool:
        cycles = self.live.cycles
        if cycles != self._last_cycles:
            self._last_cycles = cycles
            self._last_progress = now
        return now - self._last_progress < 5.0

    def _shutdown(self) -> None:
        if self._cpu_latency is not None:
            self._cpu_latency.close()
        if self.backend is not None:
            try:
                self.backend.stop()
            except Exception as exc:  # noqa: BLE001 - best effort while exiting
                log.warning("while stopping: %s", exc)
        if self.private is not None:
            self.private.stop()

    def _recover(self) -> None:
        """The JACK server went away: keep the engine, retry until it is back."""
        reason = getattr(self.backend, "lost_reason", "")
        log.warning("JACK server went away (%s); keeping the mix state and retrying every %.0f s",
                    reason or "no reason given", RETRY_S)
        self.notify.send("STATUS=JACK server lost, retrying")
        attempts = 0
        while not self._stop.is_set():
            if self.private is not None and self.private.proc.poll() is not None:
                log.warning("restarting the private JACK server %r", self.server)
                try:
                    self.private.start()
                except Exception as exc:  # noqa: BLE001 - retried
                    log.warning("private JACK server did not start: %s", exc)
            attempts += 1
            if self.backend.reconnect():
                log.info("JACK server is back after %d attempt(s): ports and connections restored",
                         attempts)
                self.notify.send("STATUS=running", "WATCHDOG=1")
                return
            if self.notify.watchdog_s:
                self.notify.send("WATCHDOG=1")  # retrying is this daemon doing its job
            self._stop.wait(RETRY_S)

    def reload(self) -> bool:
        """Reload the scene file (SIGHUP). A broken scene is reported; the old one keeps playing."""
        self.notify.send("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")
        try:
            scene = self._at_rate(self._load_scene(), self.live.sample_rate, "the engine")
        except SceneError as exc:
            log.error("reload failed, keeping the current scene:\n%s", exc)
            self.notify.send("READY=1", "STATUS=reload failed; previous scene playing")
            return False
        if self.live.same_layout(scene):
            self.live.apply_values(scene)
            self.backend.add_ports(self.live.ports)  # renames ports of renamed channels
            self.backend.connect_scene(self.live.ports)
            log.info("reloaded %s: values only, glided", scene.source)
        else:
            plan, layout = self.live.prepare(scene)
            self.backend.add_ports(layout)
            adopted = self.live.publish(plan, layout, running=self.backend.running)
            lock_memory()  # the new plan's pages too
            if adopted:
                self.backend.remove_unused_ports(layout)
                log.info("reloaded %s: %d channels, %d buses, crossfaded", scene.source,
                         len(scene.channels), len(scene.buses))
            else:
                log.warning("reloaded %s, but the audio callback has not taken it yet "
                            "(it will at its next cycle)", scene.source)
            self.backend.connect_scene(layout)
        self.notify.send("READY=1", f"STATUS=running {scene.source}")
        return True


class _TerminalMeters:
    """Live meters on the terminal, redrawn in place."""

    def __init__(self, live: LiveEngine, backend) -> None:
        self.live = live
        self.backend = backend
        self.lines = 0
        self.last = 0.0
        sys.stdout.write("\x1b[?25l")  # hide the cursor while drawing

    @staticmethod
    def _bar(db: float, width: int = 30) -> str:
        filled = int(round(width * min(1.0, max(0.0, (db + 60.0) / 60.0))))
        return "#" * filled + "." * (width - filled)

    def draw(self) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        t = self.live.telemetry()
        scene = self.live.scene
        rows = [f"automixd  {self.backend.kind}  {len(scene.channels)} ch  DSP load "
                f"{self.backend.cpu_load():4.1f} %  xruns {self.backend.xruns}   (Ctrl-C stops)"]
        for i, ch in enumerate(scene.channels):
            pk = float(t["in_peak_db"][i])
            rows.append(f"{ch.name[:12]:<12} {self._bar(pk)} {pk:6.1f} dBFS  automix "
                        f"{float(t['automix_gain_db'][i]):6.1f} dB {'talking' if t['talking'][i] else ''}")
        for b, bus in enumerate(scene.buses):
            pk = float(t["bus_peak_db"][b])
            rows.append(f"bus {bus.name[:8]:<8} {self._bar(pk)} {pk:6.1f} dBFS")
        out = ("\x1b[F" * self.lines) + "".join(f"\x1b[K{r}\n" for r in rows)
        sys.stdout.write(out)
        sys.stdout.flush()
        self.lines = len(rows)

    def close(self) -> None:
        sys.stdout.write("\x1b[?25h")
        sys.stdout.flush()


def list_devices() -> str:
    """JACK ports (if a server runs) and PortAudio devices, as text."""
    from .jackserver import server_running  # noqa: PLC0415

    lines = []
    server = os.environ.get("JACK_DEFAULT_SERVER")
    if server_running(server):
        import jack  # noqa: PLC0415

        client = jack.Client("automixd-devices", no_start_server=True, servername=server)
        try:
            lines.append(f"JACK server {server or 'default'!r}: {client.samplerate} Hz, "
                         f"{client.blocksize} frames")
            for port in client.get_ports(is_audio=True):
                kind = "capture" if port.is_output else "playback"
                phys = " physical" if port.is_physical else ""
                lines.append(f"  {port.name:<40} {kind}{phys}")
        finally:
            client.close()
    else:
        lines.append(f"JACK: no server {server or 'default'!r} running")
    try:
        from .portaudio_backend import _sd  # noqa: PLC0415

        sd = _sd("automixd-devices")
        lines.append("PortAudio devices:")
        lines += ["  " + line for line in str(sd.query_devices()).splitlines()]
    except OSError as exc:
        lines.append(f"PortAudio: not available ({exc})")
    return "\n".join(lines)
