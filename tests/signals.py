"""Shared helpers of the signal tests: test signals, dB, spectra, engine set-up.

Nothing here imports engine internals: the oracles of the signal tests are
computed from first principles, and the engine is driven only through
:class:`automixd.engine.Engine` (scene dict, ``process``, ``set``, ``telemetry``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from automixd.engine import Engine

SAMPLE_RATES = (44100, 48000, 96000)
CHANNEL_COUNTS = (1, 2, 8)

#: Centre pan of a constant-power law: cos(pi/4) in each side, -3.0103 dB.
PAN_CENTRE = math.cos(math.pi / 4.0)
PAN_CENTRE_DB = 20.0 * math.log10(PAN_CENTRE)


# -- units ----------------------------------------------------------------------
def db(x: Any) -> Any:
    """Amplitude ratio to dB (``-inf`` for 0), element-wise."""
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(np.abs(x))


def undb(x_db: Any) -> Any:
    """dB to amplitude ratio."""
    return 10.0 ** (np.asarray(x_db, dtype=np.float64) / 20.0)


def rms(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x)))


def one_pole_coef(tau_s: float, fs: float) -> float:
    """Per-sample coefficient a of y += a (x - y) reaching 1 - 1/e after tau_s."""
    return 1.0 - math.exp(-1.0 / (tau_s * fs))


# -- signals ----------------------------------------------------------------------
def sine(freq_hz: float, n: int, fs: float, peak: float = 1.0, phase: float = 0.0) -> np.ndarray:
    """float64 sine of ``n`` samples with the given peak amplitude."""
    t = np.arange(n, dtype=np.float64)
    return peak * np.sin(2.0 * math.pi * freq_hz * t / fs + phase)


def impulse(n: int, at: int = 0, amp: float = 1.0) -> np.ndarray:
    x = np.zeros(n, dtype=np.float64)
    x[at] = amp
    return x


def noise(n: int, seed: int, peak_db: float | None = None, rms_db: float | None = None) -> np.ndarray:
    """Gaussian white noise, scaled to a peak or an RMS level (dBFS)."""
    x = np.random.default_rng(seed).standard_normal(n)
    if peak_db is not None:
        x *= undb(peak_db) / np.max(np.abs(x))
    elif rms_db is not None:
        x *= undb(rms_db) / rms(x)
    return x


def rows(*signals: np.ndarray) -> np.ndarray:
    """Stack 1-D signals into the engine's float32 ``(channels, frames)`` layout."""
    return np.ascontiguousarray(np.vstack(signals), dtype=np.float32)


# -- spectra -----------------------------------------------------------------------
def dtft(h: np.ndarray, freqs_hz: np.ndarray, fs: float) -> np.ndarray:
    """Complex DTFT of ``h`` evaluated exactly at ``freqs_hz`` (no bin rounding)."""
    h = np.asarray(h, dtype=np.float64)
    n = np.arange(h.shape[0], dtype=np.float64)
    out = np.empty(len(freqs_hz), dtype=np.complex128)
    for i, f in enumerate(freqs_hz):
        out[i] = np.dot(h, np.exp(-2j * math.pi * f / fs * n))
    return out


def log_freqs(fs: float, n: int = 50, lo: float = 20.0, hi: float = 20000.0) -> np.ndarray:
    """``n`` log-spaced frequencies from ``lo`` to min(hi, 0.45 fs)."""
    return np.geomspace(lo, min(hi, 0.45 * fs), n)


# -- scenes and engines ----------------------------------------------------------------
def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"ch.1.eq.2.gain_db": 6}`` -> ``{"ch": {"1": {"eq": {"2": {"gain_db": 6}}}}}``."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return out


def make_engine(fs: int, n_ch: int = 1, params: dict[str, Any] | None = None, *,
                limiter: bool = False, hpf: bool = False, direct_outs: bool = False,
                **kw: Any) -> Engine:
    """An engine with a flat ``params`` dict applied on top of a test baseline.

    Baseline: every channel's HPF off (unless ``hpf``), main-bus limiter off
    (unless ``limiter``), everything else at its declared default (EQ in
    circuit at 0 dB, which is an exact identity). With ``direct_outs`` each
    channel k also feeds a mono aux bus ``dk`` through a post-fader send at
    0 dB with that bus's limiter off: output rows ``eng.bus_rows("dk")`` then
    carry channel k alone, unpanned (a direct out).
    """
    flat: dict[str, Any] = {"bus.main.limiter.on": limiter}
    for ch in range(1, n_ch + 1):
        flat[f"ch.{ch}.hpf.on"] = hpf
        if direct_outs:
            flat[f"bus.d{ch}.channels"] = 1
            flat[f"bus.d{ch}.limiter.on"] = False
            flat[f"ch.{ch}.send.d{ch}.level_db"] = 0.0
    flat.update(params or {})
    scene = nest(flat)
    scene["sample_rate"] = fs
    scene["channels"] = n_ch
    return Engine.from_scene(scene, **kw)


def direct(eng: Engine, out: np.ndarray, ch: int) -> np.ndarray:
    """Channel ``ch``'s direct-out row of an output block (see :func:`make_engine`)."""
    return out[eng.bus_rows(f"d{ch}")][0]


def run_blocks(eng: Engine, x: np.ndarray, block: int, events: dict[int, list] | None = None) -> np.ndarray:
    """Process ``x`` in consecutive slices of ``block`` frames.

    ``events`` maps a sample position to ``[(path, value), ...]`` applied with
    ``eng.set`` just before that sample; slices are cut there, so a change
    lands on the same sample whatever the block size.
    """
    frames = x.shape[1]
    out = np.empty((eng.n_outputs, frames), dtype=np.float32)
    cuts = set(range(0, frames, block)) | set(events or {}) | {frames}
    cuts = sorted(c for c in cuts if 0 <= c <= frames)
    for a, b in zip(cuts[:-1], cuts[1:]):
        for path, value in (events or {}).get(a, []):
            eng.set(path, value)
        # a change splits a slice; the rest of the slice keeps the block grid
        eng.process(x[:, a:b], out=out[:, a:b])
    return out


def gain_envelope(out: np.ndarray, inp: np.ndarray, floor: np.ndarray | float) -> np.ndarray:
    """Per-sample gain out/inp of a tone, read where |inp| > ``floor``, interpolated between.

    ``out`` and ``inp`` must be aligned (latency removed). ``floor`` (scalar or
    per sample) keeps samples near the tone's zero crossings out, where the
    ratio is ill-conditioned; the gain moves slowly between them.
    """
    inp = np.asarray(inp, dtype=np.float64)
    out = np.asarray(out, dtype=np.float64)
    idx = np.nonzero(np.abs(inp) > floor)[0]
    return np.interp(np.arange(inp.shape[0]), idx, out[idx] / inp[idx])
