"""The control side of the live engine: plans, port slots, parameters, meters.

A :class:`LiveEngine` owns the root array the audio callback reads (see
:mod:`.realtime`), the physical staging buffers and the plans. Control
threads (CLI, signals, later OSC and MIDI) call :meth:`set`, :meth:`load`
and :meth:`telemetry`; the audio thread only ever sees arrays.

Threads: the control side is the single writer of parameter targets and of
the root's control words; the audio side is the single writer of state and
meters. Producers are serialised by a lock that the audio thread never
touches.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import realtime as R
from .arena import carve
from .engine import Engine
from .scene import Scene

#: A scene change runs the new plan beside the old one this long before the
#: crossfade starts, plus the longest channel delay of the new scene.
SWAP_WARM_MS = 50.0
SWAP_XFADE_MS = 20.0
#: Master fade at start and stop.
MASTER_FADE_MS = 10.0
#: Largest period the physical buffers hold (JACK's largest is 8192).
PHYS_FRAMES = 8192


def prefault(*arrays: np.ndarray) -> None:
    """Write every page of ``arrays`` now, on the control thread.

    numpy's zeros come from calloc, whose pages the kernel maps on first
    write; without this, the audio thread's first cycles take those page
    faults (measured: 94 minor faults on the JACK thread in a soak run).
    """
    for a in arrays:
        np.copyto(a, a)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip()).strip("_") or "ch"


@dataclass(frozen=True)
class PortLayout:
    """Names of the physical ports a scene needs, by slot.

    Inputs are one port per input number (slot = number - 1), named after
    the first channel that reads it; outputs are one port per bus channel.
    """

    inputs: tuple[str | None, ...]
    outputs: tuple[str, ...]
    input_connect: tuple[tuple[str, ...], ...]
    output_connect: tuple[str, ...]

    @classmethod
    def of(cls, scene: Scene) -> PortLayout:
        n_in = max([c.input for c in scene.channels] + [0])
        names: list[str | None] = [None] * n_in
        connect: list[list[str]] = [[] for _ in range(n_in)]
        for c in scene.channels:
            if c.input > 0:
                if names[c.input - 1] is None:
                    names[c.input - 1] = f"in{c.input:02d}_{_slug(c.name)}"
                connect[c.input - 1] += [p for p in c.connect if p not in connect[c.input - 1]]
        for i, n in enumerate(names):
            if n is None:
                names[i] = f"in{i + 1:02d}"
        outs, out_connect = [], []
        for b in scene.buses:
            sides = ("",) if b.channels == 1 else ("_L", "_R")
            for j, side in enumerate(sides):
                outs.append(f"{b.name}{side}")
                out_connect.append(b.connect[j] if j < len(b.connect) else "")
        return cls(tuple(names), tuple(outs), tuple(tuple(c) for c in connect), tuple(out_connect))


class _LivePlan:
    """An engine plus its staging buffers and pointer table (kept alive together)."""

    def __init__(self, scene: Scene, out_slots: list[int]) -> None:
        self.engine = Engine(scene)
        plan = self.engine.plan
        self.inbuf, self.outbuf = carve([((plan.n_inputs, plan.max_frames), np.float32),
                                         ((plan.n_outputs, plan.max_frames), np.float32)])
        self.in_slot = np.arange(plan.n_inputs, dtype=np.int64)  # input n reads port slot n
        self.out_slot = np.array(out_slots, dtype=np.int64)
        args = list(plan.state_args())
        scratch = args.pop(7)  # the scratch tuple: one table entry per array, in place
        arrays = args[:7] + list(scratch) + args[7:] + [self.inbuf, self.outbuf, self.in_slot,
                                                         self.out_slot]
        self.table = R.table_for(arrays)
        self.address = int(self.table.ctypes.data)
        prefault(*arrays)


class LiveEngine:
    """The live mixer's state, shared between control threads and the audio callback.

    Parameters
    ----------
    scene : Scene
        The scene to start with.
    outputs_by_position : bool
        Output port k of every scene plays on physical output k (a device's
        channels, PortAudio). By default an output keeps its slot as long as
        its name lives (JACK ports), so a renamed bus gets a new port.
    """

    def __init__(self, scene: Scene, outputs_by_position: bool = False) -> None:
        self.outputs_by_position = outputs_by_position
        self._lock = threading.RLock()
        self.root = np.zeros(R.N_ROOT, dtype=np.int64)
        self.phys_in = np.zeros((R.MAX_PORTS, PHYS_FRAMES), dtype=np.float32)
        self.phys_out = np.zeros((R.MAX_PORTS, PHYS_FRAMES), dtype=np.float32)
        self.in_ports = np.zeros(R.MAX_PORTS, dtype=np.uint64)
        self.out_ports = np.zeros(R.MAX_PORTS, dtype=np.uint64)
        self.times = np.zeros(R.TIMES_LEN, dtype=np.int64)
        self.starts = np.zeros((R.TIMES_LEN, 3), dtype=np.int64)
        self.timespec = np.zeros(4, dtype=np.int64)
        self.fade = np.zeros(4, dtype=np.float64)
        r = self.root
        r[R.R_PHYS_IN] = self.phys_in.ctypes.data
        r[R.R_PHYS_OUT] = self.phys_out.ctypes.data
        r[R.R_PHYS_FRAMES] = PHYS_FRAMES
        r[R.R_IN_PORTS] = self.in_ports.ctypes.data
        r[R.R_OUT_PORTS] = self.out_ports.ctypes.data
        r[R.R_TIMES] = self.times.ctypes.data
        r[R.R_STARTS] = self.starts.ctypes.data
        r[R.R_TS] = self.timespec.ctypes.data
        r[R.R_FADE] = self.fade.ctypes.data
        prefault(self.root, self.phys_in, self.phys_out, self.in_ports, self.out_ports, self.times,
                 self.starts, self.timespec, self.fade)
        self.out_names: list[str | None] = [None] * R.MAX_PORTS
        self.scene = scene
        self.ports = PortLayout.of(scene)
        self._plan = _LivePlan(scene, self._claim_outputs(self.ports))
        self._retired: list[_LivePlan] = []
        self.sample_rate = scene.sample_rate
        self.set_fade(1.0, MASTER_FADE_MS, start_from=0.0)
        r[R.R_N_IN] = len(self.ports.inputs)
        r[R.R_N_OUT] = self._outputs_in_use()
        r[R.R_CUR] = self._plan.address

    # -- what the adapters need --------------------------------------------------
    @property
    def root_address(self) -> int:
        """Address of the root array: the ``void *`` argument of the callbacks."""
        return int(self.root.ctypes.data)

    @property
    def engine(self) -> Engine:
        """The playing plan's engine (parameters, telemetry)."""
        return self._plan.engine

    @property
    def latency(self) -> int:
        return self._plan.engine.latency

    def output_slots(self) -> dict[str, int]:
        """Physical output slot of each output port name in use."""
        return {n: i for i, n in enumerate(self.out_names) if n is not None}

    def _outputs_in_use(self) -> int:
        """Physical output slots the callback must serve: up to the highest one named."""
        return max((i for i, n in enumerate(self.out_names) if n is not None), default=-1) + 1

    def _claim_outputs(self, layout: PortLayout) -> list[int]:
        if self.outputs_by_position:
            # during a swap both plans add into the same device channels: the crossfade
            # moves from the old bus to the new one on the channel the listener hears
            self.out_names[:len(layout.outputs)] = layout.outputs
            return list(range(len(layout.outputs)))
        slots = []
        for name in layout.outputs:
            if name in self.out_names:
                slots.append(self.out_names.index(name))
            else:
                free = self.out_names.index(None)
                self.out_names[free] = name
                slots.append(free)
        return slots

    # -- parameters -----------------------------------------------------------
    def set(self, path: str, value: Any) -> None:
        """Set a parameter of the playing scene (see :meth:`Engine.set`)."""
        with self._lock:
            self._plan.engine.set(path, value)

    def get(self, path: str) -> Any:
        return self._plan.engine.get(path)

    def telemetry(self) -> dict[str, np.ndarray]:
        """Meters since the previous call (read and reset by the audio thread)."""
        with self._lock:
            return self._plan.engine.telemetry()

    def set_fade(self, target: float, ms: float, start_from: float | None = None) -> None:
        """Ramp the master gain to ``target`` (0..1) at a slope of full scale per ``ms``."""
        self.fade[R.F_STEP] = 1.0 / max(1.0, ms * 1e-3 * self.sample_rate)
        if start_from is not None:
            self.fade[R.F_GAIN] = start_from
        self.fade[R.F_TARGET] = target

    # -- status ----------------------------------------------------------------
    @property
    def cycles(self) -> int:
        return int(self.root[R.R_CYCLES])

    @property
    def frames(self) -> int:
        return int(self.root[R.R_FRAMES])

    @property
    def oversize(self) -> int:
        """Callbacks longer than the staging buffers hold, answered with silence."""
        return int(self.root[R.R_OVERSIZE])

    def callback_times_ns(self) -> np.ndarray:
        """Durations of the callbacks served so far (the last ``TIMES_LEN``, oldest first), ns."""
        return self.callback_log()[0]

    def callback_log(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The last ``TIMES_LEN`` callbacks, oldest first.

        Returns
        -------
        durations_ns, starts_ns, frames, cpu_ns : int64[n]
            How long each callback ran, when it started (``CLOCK_MONOTONIC``,
            ns), the frame time of its cycle (JACK's ``jack_last_frame_time``,
            which wraps at 2**32; with PortAudio the engine's frame count) and,
            while ``time_cpu`` is on, the audio thread's CPU time in it (else 0).
        """
        n = int(self.root[R.R_TIMES_IDX])
        k = np.arange(max(0, n - R.TIMES_LEN), n) % R.TIMES_LEN
        return self.times[k], self.starts[k, 0], self.starts[k, 1], self.starts[k, 2]

    def time_cpu(self, on: bool) -> None:
        """Also measure each callback on the audio thread's CPU clock (two system calls
        per callback; for diagnostics such as the soak, off by default)."""
        self.root[R.R_CPU_TIMES] = int(on)

    # -- scene changes ------------------------------------------------------------
    def same_layout(self, scene: Scene) -> bool:
        """True when ``scene`` differs from the playing one in values only."""
        old = self.scene
        return (old.sample_rate == scene.sample_rate
                and [c.input for c in old.channels] == [c.input for c in scene.channels]
                and [(b.name, b.channels) for b in old.buses] == [(b.name, b.channels) for b in scene.buses])

    def apply_values(self, scene: Scene) -> None:
        """Move every parameter to ``scene``'s value, smoothed (same layout only)."""
        with self._lock:
            eng = self._plan.engine
            table = eng.plan.table
            target = table.defaults()
            for path, value in scene.values.items():
                target[table.lookup(path)[0]] = value
            eng.plan.par[:] = target
            eng.plan.mark_changed()
            self.scene = scene
            self.ports = PortLayout.of(scene)

    def prepare(self, scene: Scene) -> tuple[_LivePlan, PortLayout]:
        """Build the plan for ``scene`` off the audio thread (nothing is published yet)."""
        if scene.sample_rate != self.sample_rate:
            raise ValueError(f"scene is at {scene.sample_rate} Hz but the engine runs at "
                             f"{self.sample_rate} Hz")
        with self._lock:
            layout = PortLayout.of(scene)
            return _LivePlan(scene, self._claim_outputs(layout)), layout

    def publish(self, plan: _LivePlan, layout: PortLayout, running: bool,
                timeout_s: float = 2.0) -> bool:
        """Swap ``plan`` in at a block boundary and wait for the audio thread to adopt it.

        Ports the new layout needs must already be registered. With the audio
        stopped (``running`` False) the plan is adopted at once. Returns
        False if the audio thread did not adopt it in time (it will still
        adopt it when it runs again).
        """
        with self._lock:
            r = self.root
            delays = [v for p, v in plan.engine.scene.values.items() if p.endswith(".delay_ms")]
            warm_ms = SWAP_WARM_MS + max(delays + [0.0])
            r[R.R_WARM] = int(warm_ms * 1e-3 * self.sample_rate)
            r[R.R_XFADE] = int(SWAP_XFADE_MS * 1e-3 * self.sample_rate)
            r[R.R_N_IN] = max(int(r[R.R_N_IN]), len(layout.inputs))
            r[R.R_N_OUT] = self._outputs_in_use()
            swaps = int(r[R.R_SWAPS])
            if not running:
                r[R.R_CUR] = plan.address
                r[R.R_SWAPS] = swaps + 1
                adopted = True
            else:
                r[R.R_NEXT] = plan.address
                deadline = time.monotonic() + timeout_s
                while r[R.R_SWAPS] == swaps and time.monotonic() < deadline:
                    time.sleep(0.005)
                adopted = bool(r[R.R_SWAPS] != swaps)
            self._retired.append(self._plan)
            self._plan = plan
            self.scene = plan.engine.scene
            self.ports = layout
            if adopted:
                self._retired.clear()
                in_use = set(layout.outputs)
                self.out_names = [n if n in in_use else None for n in self.out_names]
            return adopted
