"""The Python API over the compiled engine, for render, notebooks and tests.

Example
-------
>>> import numpy as np
>>> from automixd.engine import Engine
>>> eng = Engine.from_scene({"channels": 2})
>>> eng.set("ch.1.fader_db", -6.0)
>>> out = eng.process(np.zeros((2, 480), dtype=np.float32))
>>> out.shape
(2, 480)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import layout as L
from .kernels.process import process_block
from .plan import Plan
from .scene import Scene

#: Telemetry values per channel, in the order of ``Engine.telemetry()``.
CHANNEL_TELEMETRY = ("in_peak_db", "in_rms_db", "out_rms_db", "gate_gr_db", "comp_gr_db",
                     "automix_gain_db", "talking", "duck_gain_db")
BUS_TELEMETRY = ("peak_db", "rms_db", "comp_gr_db", "limiter_gr_db")
FLOOR_DB = -120.0


def _db(amplitude: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(20.0 * np.log10(np.maximum(amplitude, 0.0)), FLOOR_DB)


class Engine:
    """A mixer: channel strips, buses and meters, driven block by block.

    Parameters
    ----------
    scene : Scene
        A validated scene (see :meth:`from_scene`).
    max_frames : int, optional
        Largest block the plan is sized for; :meth:`process` splits longer ones.
    """

    def __init__(self, scene: Scene, max_frames: int | None = None) -> None:
        self.scene = scene
        self.plan = Plan(scene, max_frames)
        self._args = self.plan.state_args()

    @classmethod
    def from_scene(cls, scene: str | Path | dict[str, Any] | Scene, **kw: Any) -> Engine:
        """Build an engine from a scene file path, a dict or a :class:`Scene`.

        Raises
        ------
        SceneError
            Listing every problem of an invalid scene.
        """
        if isinstance(scene, Scene):
            return cls(scene, **kw)
        if isinstance(scene, dict):
            return cls(Scene.from_dict(scene), **kw)
        return cls(Scene.load(scene), **kw)

    # -- layout ---------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.scene.sample_rate

    @property
    def n_inputs(self) -> int:
        """Input rows :meth:`process` expects (the highest input a channel uses)."""
        return self.plan.n_inputs

    @property
    def n_outputs(self) -> int:
        """Output rows: main L, main R, then each aux bus's channels."""
        return self.plan.n_outputs

    @property
    def latency(self) -> int:
        """Samples by which outputs lag inputs (bus limiter look-ahead)."""
        return self.plan.latency

    def bus_rows(self, name: str) -> slice:
        """Output rows of bus ``name``."""
        names = [b.name for b in self.scene.buses]
        b = names.index(name)
        first = int(self.plan.bus_first[b])
        return slice(first, first + int(self.plan.bus_nch[b]))

    # -- audio ---------------------------------------------------------------
    def process(self, block: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Process a block of any length.

        Parameters
        ----------
        block : float32 array, shape (n_inputs, frames)
            Input samples, full scale = 1.0.
        out : float32 array, shape (n_outputs, frames), optional
            Where to write; allocated if omitted.

        Returns
        -------
        float32 array, shape (n_outputs, frames)
        """
        block = np.ascontiguousarray(block, dtype=np.float32)
        if block.ndim != 2 or block.shape[0] != self.n_inputs:
            raise ValueError(f"expected a (n_inputs={self.n_inputs}, frames) block, got shape {block.shape}")
        frames = block.shape[1]
        if out is None:
            out = np.empty((self.n_outputs, frames), dtype=np.float32)
        step = self.plan.max_frames
        for start in range(0, frames, step):
            stop = min(start + step, frames)
            inp = np.ascontiguousarray(block[:, start:stop])
            dst = out[:, start:stop]
            chunk = dst if dst.flags.c_contiguous else np.empty_like(dst)
            process_block(inp, chunk, stop - start, *self._args)
            if chunk is not dst:
                dst[...] = chunk
        return out

    # -- parameters ------------------------------------------------------------
    def set(self, path: str, value: Any) -> None:
        """Set a parameter by path (``"ch.1.fader_db"``) in user units.

        Raises
        ------
        KeyError
            Unknown path (with a suggestion).
        ValueError
            Value outside the declared range or choices.
        """
        index, spec = self.plan.table.lookup(path)
        try:
            stored = spec.parse(value)
        except ValueError as exc:
            raise ValueError(f"{path} = {value!r}: {exc}") from None
        self.plan.par[index] = stored
        self.plan.mark_changed(index, automix=path.startswith("automix.") or ".automix." in path
                               or ".duck." in path)

    def get(self, path: str) -> Any:
        """Current target of a parameter in user units (bool, choice name, float)."""
        index, spec = self.plan.table.lookup(path)
        return spec.display(self.plan.par[index])

    def params(self):
        """Iterate ``(path, spec, value)`` over every parameter of this layout."""
        for path, (index, spec) in self.plan.table.paths.items():
            yield path, spec, spec.display(self.plan.par[index])

    # -- meters ------------------------------------------------------------------
    def _effective_nom(self) -> np.ndarray:
        cs = self.plan.ch_st
        grp = cs[L.C_AM_GRP]
        gains = cs[L.C_AM_G]
        return np.array([_nom(gains[grp == g]) for g in range(self.plan.am_st.shape[0])])

    def telemetry(self) -> dict[str, np.ndarray]:
        """Meters since the previous call (read and reset), in dB.

        Returns
        -------
        dict
            Per channel (arrays of length n_channels): ``in_peak_db``,
            ``in_rms_db``, ``out_rms_db`` (post-fader), ``gate_gr_db`` and
            ``comp_gr_db`` (largest reduction, >= 0), ``automix_gain_db``
            (mean power gain of the automixer), ``talking`` (1 when the
            channel held more than its group's talk threshold for most of the
            period), ``nonfinite`` (bad samples dropped). Per bus, keys
            prefixed ``bus_``; per automix group, ``automix_nom``.
        """
        cs = self.plan.ch_st
        bs = self.plan.bus_st
        n = np.maximum(cs[L.C_M_N], 1.0)
        nb = np.maximum(bs[:, L.B_M_N], 1.0)
        t = {
            "in_peak_db": _db(cs[L.C_M_IN_PEAK]),
            "in_rms_db": _db(np.sqrt(cs[L.C_M_IN_SQ] / n)),
            "out_rms_db": _db(np.sqrt(cs[L.C_M_OUT_SQ] / n)),
            "gate_gr_db": cs[L.C_M_GATE_GR].copy(),
            "comp_gr_db": cs[L.C_M_COMP_GR].copy(),
            # mean power gains of the automixer and the ducker over the period;
            # samples where they did not run had unity gain
            "automix_gain_db": _mean_power_db(cs[L.C_M_AM_G2], cs[L.C_M_AM_N], n),
            "talking": (cs[L.C_M_AM_TALK] >= 0.5 * n).astype(np.float64),
            "duck_gain_db": _mean_power_db(cs[L.C_M_DK_G2], cs[L.C_M_DK_N], n),
            "nonfinite": cs[L.C_M_NONFINITE].copy(),
            "bus_peak_db": _db(bs[:, L.B_M_PEAK]),
            "bus_rms_db": _db(np.sqrt(bs[:, L.B_M_SQ] / nb)),
            "bus_comp_gr_db": bs[:, L.B_M_COMP_GR].copy(),
            "bus_limiter_gr_db": bs[:, L.B_M_LIM_GR].copy(),
            "bus_duck_gain_db": np.maximum(10.0 * np.log10(np.maximum(bs[:, L.B_M_DK_G2] / nb, 1e-30)),
                                           FLOOR_DB),
            "automix_nom": self._effective_nom(),
        }
        self.plan.request_meter_reset()
        return t


def _mean_power_db(sum_g2: np.ndarray, counted: np.ndarray, total: np.ndarray) -> np.ndarray:
    mean = (sum_g2 + np.maximum(total - counted, 0.0)) / total
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(mean), FLOOR_DB)


def _nom(shares: np.ndarray) -> float:
    """Effective number of open mics, (sum g)^2 / sum g^2: N for N equal gains, 1 for one."""
    s2 = float(np.sum(shares * shares))
    return float(np.sum(shares)) ** 2 / s2 if s2 > 0 else 0.0
