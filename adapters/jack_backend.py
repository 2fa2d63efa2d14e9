"""JACK backend: JACK-Client owns the client, ports and connections; libjack calls the cfunc.

JACK-Client has no public way to register a C process callback, so the
callback goes to libjack through JACK-Client's own cffi handles
(``jack._lib``/``jack._ffi``, private API: the dependency is pinned to the
0.5 series for this). Everything else here runs on control threads.
"""

from __future__ import annotations

import logging
import threading
import time

from ..engine import realtime as R
from ..engine.live import LiveEngine, PortLayout
from .memory import lock_memory

log = logging.getLogger("automixd.jack")


class JackBackendError(RuntimeError):
    """The JACK server cannot be reached or refused the client."""


def _jack():
    import jack  # noqa: PLC0415 - imported late: it loads libjack

    # libjack prints every failed connection attempt to stderr; while the
    # daemon retries a vanished server that would flood the journal
    jack.set_error_function(lambda msg: log.debug("libjack: %s", msg))
    jack.set_info_function(lambda msg: log.debug("libjack: %s", msg))
    return jack


def _handle(port) -> int:
    return int(_jack()._ffi.cast("uintptr_t", port._ptr))


def warm_up() -> None:
    """Compile (or load from cache) the process callback and run it once on a scratch engine."""
    from ..engine.scene import Scene  # noqa: PLC0415
    from .jack_rt import jack_process  # noqa: PLC0415 - compiles at import

    scratch = LiveEngine(Scene.from_dict({"channels": 1}))
    jack_process.ctypes(64, scratch.root_address)


class JackBackend:
    """The live engine as a JACK client.

    Parameters
    ----------
    live : LiveEngine
        The engine; its ports are registered under ``client_name``.
    client_name : str
        JACK client name (``--jack-name``).
    server : str, optional
        JACK server name; default: ``$JACK_DEFAULT_SERVER`` or the default server.
    """

    kind = "jack"

    def __init__(self, live: LiveEngine, client_name: str = "automixd", server: str | None = None) -> None:
        self.live = live
        self.client_name = client_name
        self.server = server
        self.client = None
        self.inports: dict[int, object] = {}    # slot -> jack.Port
        self.outports: dict[str, object] = {}   # name -> jack.Port
        self.xruns = 0
        self.lost = threading.Event()
        self.lost_reason = ""
        self.last_error = ""
        # remembered peers of our ports (short name -> full peer names), restored on reconnect
        self.peers: dict[str, set[str]] = {}
        self._keep = []  # cffi objects that must outlive the client
        self._token: object | None = None  # identifies the client whose shutdown counts

    # -- lifecycle ----------------------------------------------------------------
    @staticmethod
    def probe_rate(server: str | None = None) -> int:
        """Sample rate of a running JACK server (opens and closes a client)."""
        jack = _jack()
        try:
            client = jack.Client("automixd-probe", no_start_server=True, servername=server)
        except jack.JackOpenError as exc:
            raise JackBackendError(f"no JACK server{f' {server!r}' if server else ''} running ({exc})") from None
        try:
            return int(client.samplerate)
        finally:
            client.close()

    @property
    def running(self) -> bool:
        return self.client is not None and not self.lost.is_set()

    @property
    def sample_rate(self) -> int:
        return int(self.client.samplerate)

    @property
    def blocksize(self) -> int:
        return int(self.client.blocksize)

    def start(self) -> None:
        """Open the client, register ports, set the callback, activate and connect."""
        jack = _jack()
        from .jack_rt import jack_process  # noqa: PLC0415

        try:
            client = jack.Client(self.client_name, no_start_server=True, servername=self.server)
        except jack.JackOpenError as exc:
            raise JackBackendError(f"cannot open a JACK client on server "
                                   f"{self.server or 'default'!r}: {exc}") from None
        if int(client.samplerate) != self.live.sample_rate:
            client.close()
            raise JackBackendError(f"JACK runs at {client.samplerate} Hz, the engine at "
                                   f"{self.live.sample_rate} Hz")
        self.client = client
        self.lost.clear()
        self.inports, self.outports = {}, {}
        self.add_ports(self.live.ports)
        self.live.root[R.R_STARTED] = 0
        self.live.root[R.R_CLIENT] = int(jack._ffi.cast("uintptr_t", client._ptr))
        cb = jack._ffi.cast("JackProcessCallback", jack_process.address)
        arg = jack._ffi.cast("void *", self.live.root_address)
        self._keep = [cb, arg, jack_process]
        err = jack._lib.jack_set_process_callback(client._ptr, cb, arg)
        if err:
            raise JackBackendError(f"jack_set_process_callback failed ({err})")
        client.set_xrun_callback(self._on_xrun)
        token = object()
        self._token = token
        client.set_shutdown_callback(lambda status, reason: self._on_shutdown(token, reason))
        client.activate()
        self.connect_scene(self.live.ports)
        self.restore_peers()
        lock_memory()  # every page the callback may touch stays in RAM from now on
        deadline = time.monotonic() + 2.0
        while not self.live.root[R.R_STARTED] and time.monotonic() < deadline:
            time.sleep(0.001)
        if self.live.root[R.R_STARTED]:
            # tests align the live output with an offline render by this frame
            log.info("first cycle at JACK frame %d (engine frame %d)",
                     int(self.live.root[R.R_FIRST_FRAME]), int(self.live.root[R.R_FIRST_AT]))
        log.info("JACK client %r active on server %r: %d in, %d out, %d Hz, %d frames",
                 client.name, self.server or "default", len(self.inports), len(self.outports),
                 client.samplerate, client.blocksize)

    def stop(self, fade_ms: float = 10.0) -> None:
        """Fade out, deactivate and close (safe to call twice or after the server died)."""
        if self.client is None:
            return
        if self.running:
            self.live.set_fade(0.0, fade_ms)
            time.sleep(fade_ms * 1e-3 + 2 * self.blocksize / self.live.sample_rate + 0.01)
            self.remember_peers()
            self.client.deactivate()
        self._drop_handles()
        self.client.close()
        self.client = None

    def _drop_handles(self) -> None:
        self.live.in_ports[:] = 0
        self.live.out_ports[:] = 0
        self.live.root[R.R_CLIENT] = 0

    # -- notifications (JACK's notification thread) -----------------------------------
    def _on_xrun(self, delayed_usecs: float) -> None:
        self.xruns += 1

    def _on_shutdown(self, token: object, reason: str) -> None:
        if token is not self._token:
            return  # a late notice from a client already replaced after a reconnect
        self.lost_reason = reason
        self.lost.set()

    # -- server loss -------------------------------------------------------------
    def reconnect(self) -> bool:
        """After the server went away: drop the dead client and try once to come back."""
        if self.client is not None:
            self._drop_handles()
            try:
                self.client.close()
            except Exception:  # noqa: BLE001 - the server is gone; nothing to release there
                pass
            self.client = None
        try:
            self.start()
        except Exception as exc:  # noqa: BLE001 - retried by the caller
            # say why once, not every second (a server back at another rate needs a person)
            if str(exc) != self.last_error:
                log.warning("JACK server not usable yet: %s", exc)
                self.last_error = str(exc)
            if self.client is not None:
                self._drop_handles()
                self.client.close()
            self.client = None
            return False
        self.last_error = ""
        return True

    # -- ports -------------------------------------------------------------------
    def add_ports(self, layout: PortLayout) -> None:
        """Register (or rename) the ports ``layout`` needs before its plan is published."""
        for slot, name in enumerate(layout.inputs):
            port = self.inports.get(slot)
            if port is None:
                port = self.client.inports.register(name)
                self.inports[slot] = port
                self.live.in_ports[slot] = _handle(port)
            elif port.shortname != name:
                port.shortname = name
        slots = self.live.output_slots()
        for name in layout.outputs:
            if name not in self.outports:
                port = self.client.outports.register(name)
                self.outports[name] = port
                self.live.out_ports[slots[name]] = _handle(port)

    def remove_unused_ports(self, layout: PortLayout) -> None:
        """Unregister ports the playing layout no longer uses (after its plan was adopted)."""
        gone_in = [s for s in self.inports if s >= len(layout.inputs)]
        gone_out = [n for n in self.outports if n not in layout.outputs]
        if not gone_in and not gone_out:
            return
        for s in gone_in:
            self.live.in_ports[s] = 0
        for name, port in self.outports.items():
            if name in gone_out:
                self.live.out_ports[self.live.out_ports == _handle(port)] = 0
        self._wait_cycles(2)  # the callback may still hold a buffer of them this period
        for s in gone_in:
            self.inports.pop(s).unregister()
        for name in gone_out:
            self.outports.pop(name).unregister()

    def _wait_cycles(self, n: int, timeout_s: float = 1.0) -> None:
        start = self.live.cycles
        deadline = time.monotonic() + timeout_s
        while self.running and self.live.cycles < start + n and time.monotonic() < deadline:
            time.sleep(0.002)

    def all_ports(self) -> dict[str, object]:
        ports = {p.shortname: p for p in self.inports.values()}
        ports.update(self.outports)
        return ports

    # -- connections -----------------------------------------------------------------
    def connect_scene(self, layout: PortLayout) -> None:
        """Connect the physical ports the scene names (missing ones are logged, not fatal)."""
        for slot, peers in enumerate(layout.input_connect):
            for peer in peers:
                self._connect(peer, self.inports[slot])
        for name, peer in zip(layout.outputs, layout.output_connect):
            if peer:
                self._connect(self.outports[name], peer)

    def _connect(self, source, dest) -> None:
        try:
            self.client.connect(source, dest)
        except Exception as exc:  # noqa: BLE001 - a missing peer port is a scene problem, reported
            if "already exists" not in str(exc):
                log.warning("cannot connect %s -> %s: %s", getattr(source, "name", source),
                            getattr(dest, "name", dest), exc)

    def remember_peers(self) -> None:
        """Note every connection of our ports, to restore them after a server restart."""
        if not self.running:
            return
        for short, port in self.all_ports().items():
            try:
                self.peers[short] = {p.name for p in self.client.get_all_connections(port)}
            except Exception:  # noqa: BLE001 - the server may vanish mid-query
                return

    def restore_peers(self) -> None:
        ports = self.all_ports()
        for short, peers in self.peers.items():
            port = ports.get(short)
            if port is None:
                continue
            for peer in peers:
                if port.is_input:
                    self._connect(peer, port)
                else:
                    self._connect(port, peer)

    # -- status -----------------------------------------------------------------
    def cpu_load(self) -> float:
        return float(self.client.cpu_load()) if self.running else 0.0
