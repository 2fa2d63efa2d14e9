"""PortAudio backend: sounddevice opens the stream, the compiled cfunc is its callback.

sounddevice's public streams take Python callbacks only; its ``_StreamBase``
accepts a C function pointer (the route python-rtmixer uses). That is
private API, so the dependency is pinned to the 0.5 series.

Device channels map to the engine's physical slots in order: device input
k feeds input k + 1, bus channels go to device outputs in scene order.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time

from ..engine import realtime as R
from ..engine.live import LiveEngine, PortLayout
from .memory import lock_memory

log = logging.getLogger("automixd.portaudio")

_client_name_buf: ctypes.Array | None = None


class PortAudioBackendError(RuntimeError):
    """No usable device, or PortAudio refused the stream."""


def _set_jack_client_name(name: str) -> None:
    # PortAudio's JACK host API names its client "PortAudio" unless told
    # otherwise before Pa_Initialize, which sounddevice calls on import.
    global _client_name_buf
    lib = ctypes.util.find_library("portaudio")
    if lib is None or _client_name_buf is not None:
        return
    try:
        pa = ctypes.CDLL(lib)
        _client_name_buf = ctypes.create_string_buffer(name.encode())
        pa.PaJack_SetClientName(_client_name_buf)  # the string must outlive PortAudio
    except (OSError, AttributeError):
        pass


def _sd(client_name: str = "automixd"):
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # never let PortAudio start a server
    _set_jack_client_name(client_name)
    import sounddevice  # noqa: PLC0415 - initialises PortAudio

    return sounddevice


def default_device_usable() -> bool:
    """True if PortAudio has a default output device."""
    try:
        sd = _sd()
        return sd.default.device[1] is not None and sd.default.device[1] >= 0
    except (OSError, Exception):  # noqa: BLE001 - no PortAudio library: not usable
        return False


def warm_up() -> None:
    """Compile (or load from cache) the stream callback and run it once on a scratch engine."""
    import numpy as np  # noqa: PLC0415

    from ..engine.scene import Scene  # noqa: PLC0415
    from .portaudio_rt import pa_stream  # noqa: PLC0415

    scratch = LiveEngine(Scene.from_dict({"channels": 1}))
    scratch.root[R.R_DEV_IN] = 1
    scratch.root[R.R_DEV_OUT] = 2
    buf_in = np.zeros(64, dtype=np.float32)
    buf_out = np.zeros(128, dtype=np.float32)
    pa_stream.ctypes(buf_in.ctypes.data, buf_out.ctypes.data, 64, None, 0, scratch.root_address)


class PortAudioBackend:
    """The live engine as a PortAudio duplex stream.

    Parameters
    ----------
    live : LiveEngine
    device : str or int, optional
        Device name (substring, as sounddevice matches it) or index; default device if None.
    client_name : str
        Client name when PortAudio runs on its JACK host API.
    """

    kind = "portaudio"

    def __init__(self, live: LiveEngine, device: str | int | None = None,
                 client_name: str = "automixd") -> None:
        self.live = live
        self.device = device
        self.client_name = client_name
        self.stream = None
        self.lost = threading.Event()  # a device does not go away the way a JACK server does
        self._keep: list = []
        self.channels = (0, 0)

    @property
    def xruns(self) -> int:
        """Callbacks PortAudio flagged with an input overflow or output underflow."""
        return int(self.live.root[R.R_PA_XRUNS])

    @property
    def running(self) -> bool:
        return self.stream is not None and bool(self.stream.active)

    @staticmethod
    def device_rate(device: str | int | None, client_name: str = "automixd") -> int:
        """Default sample rate of an output device (the JACK server's, on its host API)."""
        sd = _sd(client_name)
        try:
            info = sd.query_devices(device, "output")
        except (ValueError, sd.PortAudioError) as exc:
            raise PortAudioBackendError(f"no PortAudio output device {device!r}: {exc}") from None
        return int(info["default_samplerate"])

    def start(self) -> None:
        sd = _sd(self.client_name)
        from .portaudio_rt import pa_stream  # noqa: PLC0415

        layout = self.live.ports
        try:
            dev_out = sd.query_devices(self.device, "output")
            try:
                dev_in = sd.query_devices(self.device, "input")
            except ValueError:
                dev_in = None
        except (ValueError, sd.PortAudioError) as exc:
            raise PortAudioBackendError(f"no PortAudio device {self.device!r}: {exc}") from None
        n_out = min(len(layout.outputs), int(dev_out["max_output_channels"]))
        n_in = min(len(layout.inputs), int(dev_in["max_input_channels"])) if dev_in else 0
        if n_out < len(layout.outputs):
            log.warning("device %r has %d outputs; bus channels beyond them are not heard",
                        dev_out["name"], n_out)
        if n_in < len(layout.inputs):
            log.warning("device %r has %d inputs; the scene reads %d", dev_in["name"] if dev_in else "-",
                        n_in, len(layout.inputs))
        root = self.live.root
        root[R.R_DEV_IN] = n_in
        root[R.R_DEV_OUT] = n_out
        ffi = sd._ffi
        cb = ffi.cast("PaStreamCallback *", pa_stream.address)
        arg = ffi.cast("void *", self.live.root_address)
        self._keep = [cb, arg, pa_stream]
        kind = "duplex" if n_in > 0 else "output"
        device = (dev_in["index"], dev_out["index"]) if n_in > 0 else dev_out["index"]
        channels = (n_in, n_out) if n_in > 0 else n_out
        try:
            self.stream = sd._StreamBase(kind=kind, samplerate=self.live.sample_rate, blocksize=0,
                                         device=device, channels=channels, dtype="float32",
                                         latency="low", callback=cb, userdata=arg)
            lock_memory()  # every page the callback may touch stays in RAM from now on
            self.stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self.stream = None
            raise PortAudioBackendError(f"cannot open device {dev_out['name']!r}: {exc}") from None
        self.channels = (n_in, n_out)
        log.info("PortAudio stream on %r: %d in, %d out, %d Hz, latency %s", dev_out["name"], n_in,
                 n_out, self.live.sample_rate, self.stream.latency)

    def stop(self, fade_ms: float = 10.0) -> None:
        if self.stream is None:
            return
        if self.running:
            self.live.set_fade(0.0, fade_ms)
            time.sleep(fade_ms * 1e-3 + 0.05)
        self.stream.stop()
        self.stream.close()
        self.stream = None

    def reconnect(self) -> bool:
        return self.running

    def add_ports(self, layout: PortLayout) -> None:
        if (len(layout.inputs), len(layout.outputs)) != self.channels:
            log.info("scene needs %d in, %d out: reopening the stream", len(layout.inputs),
                     len(layout.outputs))

    def remove_unused_ports(self, layout: PortLayout) -> None:
        if (min(len(layout.inputs), self.channels[0]) != self.channels[0]
                or len(layout.outputs) != self.channels[1]):
            self.stop(fade_ms=5.0)
            self.live.set_fade(1.0, 10.0, start_from=0.0)
            self.start()

    def connect_scene(self, layout: PortLayout) -> None:
        """PortAudio devices have no per-channel connections."""

    def remember_peers(self) -> None:
        """Nothing to remember: the device is the connection."""

    def cpu_load(self) -> float:
        return float(self.stream.cpu_load) * 100.0 if self.stream is not None else 0.0
