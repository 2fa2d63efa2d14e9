"""DSP benchmark: the compiled block function against per-channel pedalboard.

Run from the repository root::

    .venv/bin/python benchmarks/dsp.py            # full run, under a minute
    .venv/bin/python benchmarks/dsp.py --quick    # shorter cells, pedalboard at 64x64 only
    .venv/bin/python benchmarks/dsp.py --rev HEAD # the engine as committed, not the working tree

Every run compiles the kernels afresh in a private numba cache: numba's cache
does not notice edits to kernels inlined from other files, so the shared
cache can silently run stale code.

What is timed
-------------
``process_block(inp, out, nframes, *plan.state_args())`` on a "full strip"
scene (every channel: HPF, gate, 4-band EQ with non-zero gains, compressor
working, fader, pan; main bus limiter on; meters always on). The live
adapters call it from a numba ``@cfunc`` with no Python in between, so the
benchmark calls it the same way: a small nopython driver loops over
pre-sliced C-contiguous ``(channels, frames)`` float32 blocks and reads the
CPU's time-stamp counter (``llvm.readcyclecounter``, calibrated against
``time.perf_counter_ns``) around each call. The cost of calling the numba
dispatcher from Python instead is measured once, at 64x64, for reference.

Beside it, in the same run and interleaved round by round (the machine is
shared and noisy: only side-by-side medians and ratios mean anything),
Spotify pedalboard processes the same blocks the way a user would stream
them: one ``Pedalboard([HighpassFilter, PeakFilter x4, Compressor,
Limiter])`` per channel, ``board(chunk, 48000, reset=False)`` per channel per
block. That chain does less than ours (no gate, no smoothing, no fader, pan,
mixdown, bus limiter or meters), so the ratio flatters pedalboard.

The output is a table and then one line ``JSON {...}`` with every figure.
Nothing here asserts a time: PASS/MISS beside a target is a report.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as _dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__" and "--reuse-numba-cache" not in sys.argv:
    # numba's cache notices a change only in the file of the cached function
    # itself, not in the kernels it inlines from other files: with the shared
    # cache, an edited strip.py can go unmeasured. Compile everything afresh.
    _CACHE_DIR = tempfile.mkdtemp(prefix="automixd-bench-numba-")
    os.environ["NUMBA_CACHE_DIR"] = _CACHE_DIR
    atexit.register(shutil.rmtree, _CACHE_DIR, True)

import numpy as np
from _common import cpu_model, use_revision, working_tree_description
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from scipy import signal as sps

# Bound by load_engine() (the working tree's package, or a snapshot of a commit);
# _run_blocks resolves process_block when it is first compiled.
Engine = None
process_block = None
ENGINE_SOURCE = ""

FS = 48000
CHANNELS = (8, 32, 64, 128)
FRAMES = (32, 64, 256)
LEVEL_DBFS = -20.0

#: Targets printed beside the figures (64 channels x 64 frames).
TARGET_MEDIAN_PCT = 4.0
TARGET_P99_PCT = 10.0
TARGET_PB_RATIO = 0.35
TARGET_SILENCE_PCT = 5.0
TARGET_AUTOMIX_PCT = 1.5

#: The full strip: every channel gets these (EQ types are the scene defaults:
#: low shelf 100 Hz, peaks 400 Hz and 2.5 kHz, high shelf 8 kHz).
EQ_GAINS_DB = (2.0, -3.0, 2.5, 1.5)
STRIP = {
    "hpf.on": True,
    "hpf.freq_hz": 80.0,
    "gate.on": True,
    "gate.threshold_db": -60.0,
    "eq.on": True,
    **{f"eq.{b}.gain_db": g for b, g in enumerate(EQ_GAINS_DB, start=1)},
    "comp.on": True,
    "comp.threshold_db": -30.0,
    "comp.ratio": 3.0,
    "comp.attack_ms": 10.0,
    "comp.release_ms": 150.0,
    "fader_db": -6.0,
}


# -- timing ------------------------------------------------------------------
@intrinsic
def _rdtsc(typingctx):
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = builder.module.declare_intrinsic("llvm.readcyclecounter", fnty=fnty)
        return builder.call(fn, [])

    return types.int64(), codegen


@njit(nogil=True)
def _tsc_now():
    return _rdtsc()


@njit(nogil=True)
def _run_blocks(blocks, out, nframes, ticks, state):
    """Process ``blocks[i]`` in turn; ``ticks[i]`` = TSC ticks of that call."""
    for i in range(blocks.shape[0]):
        t0 = _rdtsc()
        process_block(blocks[i], out, nframes, *state)
        ticks[i] = _rdtsc() - t0


def calibrate_tsc() -> float:
    """TSC ticks per nanosecond (median of three 100 ms windows)."""
    rates = []
    for _ in range(3):
        c0, t0 = _tsc_now(), time.perf_counter_ns()
        time.sleep(0.1)
        c1, t1 = _tsc_now(), time.perf_counter_ns()
        rates.append((c1 - c0) / (t1 - t0))
    return float(np.median(rates))


class Ours:
    """One engine plus its output buffer; ``run`` times a run of blocks."""

    def __init__(self, n_ch: int, frames: int, tsc_per_ns: float, **strip_overrides) -> None:
        self.engine = build_engine(n_ch, frames, **strip_overrides)
        self.frames = frames
        self.out = np.zeros((self.engine.n_outputs, frames), dtype=np.float32)
        self.state = self.engine.plan.state_args()
        self.tsc_per_ns = tsc_per_ns

    def run(self, blocks: np.ndarray) -> np.ndarray:
        """Process ``blocks`` (n, channels, frames); return µs per block."""
        ticks = np.zeros(blocks.shape[0], dtype=np.int64)
        _run_blocks(blocks, self.out, self.frames, ticks, self.state)
        return ticks / self.tsc_per_ns / 1e3


class Boards:
    """Per-channel pedalboard chains streamed block by block."""

    def __init__(self, n_ch: int) -> None:
        import pedalboard as pb

        bands = zip((100.0, 400.0, 2500.0, 8000.0), EQ_GAINS_DB, (0.707, 1.0, 1.0, 0.707))
        bands = list(bands)

        def board():
            peaks = [pb.PeakFilter(cutoff_frequency_hz=f, gain_db=g, q=q) for f, g, q in bands]
            comp = pb.Compressor(threshold_db=-30.0, ratio=3.0, attack_ms=10.0, release_ms=150.0)
            return pb.Pedalboard([pb.HighpassFilter(cutoff_frequency_hz=80.0), *peaks, comp,
                                  pb.Limiter(threshold_db=-1.0, release_ms=60.0)])

        self.boards = [board() for _ in range(n_ch)]

    def run(self, blocks: np.ndarray) -> np.ndarray:
        times = np.zeros(blocks.shape[0])
        boards = self.boards
        clock = time.perf_counter_ns
        for i in range(blocks.shape[0]):
            block = blocks[i]
            t0 = clock()
            for ch, b in enumerate(boards):
                b(block[ch], FS, reset=False)
            times[i] = clock() - t0
        return times / 1e3


# -- scene and signal ------------------------------------------------------------
def load_engine(rev: str | None) -> str:
    """Import the engine: the installed (editable) package, or ``rev``'s commit.

    With ``rev`` the package is taken from ``git archive`` into a temporary
    directory placed first on ``sys.path``, so a commit can be measured while
    the working tree is being edited. Returns a description of what was loaded.
    """
    global Engine, process_block
    if rev:
        commit = use_revision(rev, "automixd-bench-src-")
    from automixd.engine import Engine as _Engine
    from automixd.engine.kernels.process import process_block as _pb

    Engine, process_block = _Engine, _pb
    src = Path(sys.modules["automixd.engine"].__file__).parent
    if rev:
        return f"commit {commit} (git archive)"
    return working_tree_description(f"working tree {src}")




def build_engine(n_ch: int, frames: int, **overrides):
    """The full-strip scene; ``overrides`` switch stages (``comp_on=False``,
    ``bus_limiter_on=False``) or replace strip settings (``**{"comp.ratio": 1.0}``)."""
    settings = dict(STRIP)
    bus = {"limiter.on": True}
    for key, value in overrides.items():
        if key.startswith("bus_"):
            bus[key[4:].replace("_on", ".on")] = value
        else:
            settings[key.replace("_on", ".on") if key.endswith("_on") else key] = value
    eng = Engine.from_scene({"channels": n_ch, "block_size": frames, "sample_rate": FS})
    for ch in range(1, n_ch + 1):
        for name, value in settings.items():
            eng.set(f"ch.{ch}.{name}", value)
        eng.set(f"ch.{ch}.pan", -0.8 + 1.6 * (ch - 1) / max(n_ch - 1, 1))
    for name, value in bus.items():
        eng.set(f"bus.main.{name}", value)
    return eng


def speech_like(n_ch: int, n_samples: int, seed: int = 1) -> np.ndarray:
    """Pink-ish noise with a syllabic (2-6 Hz) envelope, -20 dBFS RMS per channel.

    The envelope swings over 25 dB, so the crest factor is about 20 dB, as in
    speech: peaks reach about 0 dBFS, the quiet parts stay above the gate
    threshold (-60 dB), and the compressor (-30 dB threshold, 3:1) is
    working throughout, with up to about 20 dB of gain reduction.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_ch, n_samples), dtype=np.float32)
    b, a = sps.butter(1, [150.0, 3000.0], btype="bandpass", fs=FS)  # speech band, 6 dB/oct skirts
    x = sps.lfilter(b, a, x, axis=1)
    # envelope: low-rate noise, low-passed at 6 Hz, mapped to [-25, 0] dB
    rate = 200
    n_env = n_samples * rate // FS + 2
    env = sps.lfilter(*sps.butter(2, 6.0, fs=rate), rng.standard_normal((n_ch, n_env)), axis=1)
    env = (env - env.min(axis=1, keepdims=True)) / np.ptp(env, axis=1, keepdims=True)
    env_db = -25.0 + 25.0 * env
    t = np.arange(n_samples) * (rate / FS)
    gain = np.stack([np.interp(t, np.arange(n_env), 10.0 ** (e / 20.0)) for e in env_db])
    x *= gain
    x *= 10.0 ** (LEVEL_DBFS / 20.0) / np.sqrt(np.mean(x * x, axis=1, keepdims=True))
    return x.astype(np.float32)


def as_blocks(x: np.ndarray, frames: int) -> np.ndarray:
    """(channels, samples) -> C-contiguous (n_blocks, channels, frames)."""
    n_ch, n = x.shape
    nb = n // frames
    return np.ascontiguousarray(x[:, :nb * frames].reshape(n_ch, nb, frames).transpose(1, 0, 2))


# -- measurements ----------------------------------------------------------------
#: Audio per runner per round of ``interleaved``: short, so that a slow spell of
#: the shared machine (tens to hundreds of ms) falls on every runner alike.
ROUND_S = 0.02


def interleaved(runners: dict, blocks: dict) -> dict:
    """Run every runner over its blocks in short alternating slices.

    ``blocks[name]`` is the block array for runner ``name`` (all of the same
    block size); each round gives every runner its next ``ROUND_S`` of audio,
    in alternating order. Returns µs per block for each runner.
    """
    times = {name: [] for name in runners}
    n = min(b.shape[0] for b in blocks.values())
    frames = next(iter(blocks.values())).shape[2]
    step = max(int(round(ROUND_S * FS / frames)), 2)
    rounds = max(n // step, 1)
    edges = np.linspace(0, n, rounds + 1).astype(int)
    for r in range(rounds):
        order = list(runners) if r % 2 == 0 else list(reversed(runners))
        for name in order:
            times[name].append(runners[name].run(blocks[name][edges[r]:edges[r + 1]]))
    return {name: np.concatenate(t) for name, t in times.items()}


def stats(us: np.ndarray, n_ch: int, frames: int) -> dict:
    period_us = frames / FS * 1e6
    med = float(np.median(us))
    p99 = float(np.percentile(us, 99))
    return {
        "median_us": round(med, 2),
        "p99_us": round(p99, 2),
        "median_pct": round(100.0 * med / period_us, 2),
        "p99_pct": round(100.0 * p99 / period_us, 2),
        "ns_per_ch_sample": round(med * 1e3 / (n_ch * frames), 2),
        "blocks": int(us.size),
    }


def warm(runner, blocks: np.ndarray, seconds: float = 0.2) -> None:
    frames = blocks.shape[2]
    runner.run(blocks[:max(int(seconds * FS / frames), 4)])


def bench_grid(sig: np.ndarray, seconds: float, pb_cells, tsc: float, log) -> list[dict]:
    rows = []
    for n_ch in CHANNELS:
        for frames in FRAMES:
            blocks = as_blocks(sig[:n_ch, :int(seconds * FS)], frames)
            ours = Ours(n_ch, frames, tsc)
            runners = {"ours": ours}
            if (n_ch, frames) in pb_cells:
                runners["pedalboard"] = Boards(n_ch)
            for r in runners.values():
                warm(r, blocks)
            t = interleaved(runners, {name: blocks for name in runners})
            row = {"channels": n_ch, "frames": frames, **stats(t["ours"], n_ch, frames)}
            if "pedalboard" in t:
                pb_med = float(np.median(t["pedalboard"]))
                row["pb_median_us"] = round(pb_med, 2)
                row["pb_median_pct"] = round(100.0 * pb_med / (frames / FS * 1e6), 2)
                row["ratio_ours_pb"] = round(row["median_us"] / pb_med, 3)
            rows.append(row)
            log(f"  {n_ch:4d} ch x {frames:3d}: {row['median_us']:8.1f} us median "
                f"({row['median_pct']:.1f} %)" + (f", pedalboard {row['pb_median_us']:.1f} us"
                                                    if "pb_median_us" in row else ""))
    return rows


def bench_silence(sig: np.ndarray, seconds_silent: float, tsc: float, **overrides) -> dict:
    """64x64: signal for 1 s, then digital zeros; an engine kept on signal runs beside it."""
    n_ch, frames = 64, 64
    n_sig = FS
    total = n_sig + int(seconds_silent * FS)
    x = np.zeros((n_ch, total), dtype=np.float32)
    x[:, :n_sig] = sig[:n_ch, :n_sig]
    reps = int(np.ceil(total / sig.shape[1]))
    control = np.tile(sig[:n_ch], (1, reps))[:, :total]
    test_blocks = as_blocks(x, frames)
    ctrl_blocks = as_blocks(control, frames)
    test = Ours(n_ch, frames, tsc, **overrides)
    ctrl = Ours(n_ch, frames, tsc, **overrides)
    # compile and fault in without disturbing the measured engines' history
    warm(Ours(n_ch, frames, tsc, **overrides), ctrl_blocks)
    k = n_sig // frames
    sig_phase = interleaved({"test": test, "ctrl": ctrl},
                            {"test": test_blocks[:k], "ctrl": ctrl_blocks[:k]})
    sil_phase = interleaved({"test": test, "ctrl": ctrl},
                            {"test": test_blocks[k:], "ctrl": ctrl_blocks[k:]})
    signal_med = float(np.median(sig_phase["test"]))
    silent_med = float(np.median(sil_phase["test"]))
    ctrl_med = float(np.median(sil_phase["ctrl"]))
    first = sil_phase["test"][:int(0.25 * FS / frames)]
    return {
        "channels": n_ch,
        "frames": frames,
        "signal_median_us": round(signal_med, 2),
        "silent_median_us": round(silent_med, 2),
        "silent_first_250ms_median_us": round(float(np.median(first)), 2),
        "silent_vs_signal_pct": round(100.0 * (silent_med / signal_med - 1.0), 2),
        "control_signal_median_us": round(ctrl_med, 2),
        "silent_vs_control_pct": round(100.0 * (silent_med / ctrl_med - 1.0), 2),
        "silent_p99_us": round(float(np.percentile(sil_phase["test"], 99)), 2),
        "signal_p99_us": round(float(np.percentile(sig_phase["test"], 99)), 2),
    }


#: Stage-cost variants at 64x64: each switches one stage off (the switch's
#: wet/dry ramp settles during warm-up; a stage switched off may still run its
#: detector or filter and mix it out, which is what this measures).
STAGES = {
    "full strip": {},
    "comp off": {"comp_on": False},
    "gate off": {"gate_on": False},
    "eq off": {"eq_on": False},
    "hpf off": {"hpf_on": False},
    "all four off": {"comp_on": False, "gate_on": False, "eq_on": False, "hpf_on": False},
    "comp 1:1": {"comp.ratio": 1.0},  # on and detecting, but never reducing
    "bus limiter off": {"bus_limiter_on": False},
}


def bench_stages(sig: np.ndarray, seconds: float, tsc: float) -> dict:
    n_ch, frames = 64, 64
    blocks = as_blocks(sig[:n_ch, :int(seconds * FS)], frames)
    runners = {name: Ours(n_ch, frames, tsc, **o) for name, o in STAGES.items()}
    for r in runners.values():
        warm(r, blocks, 0.3)
    t = interleaved(runners, {name: blocks for name in runners})
    full = float(np.median(t["full strip"]))
    out = {}
    for name, us in t.items():
        med = float(np.median(us))
        out[name] = {"median_us": round(med, 2),
                     "pct_of_period": round(100 * med / (frames / FS * 1e6), 2),
                     "ns_per_ch_sample": round(med * 1e3 / (n_ch * frames), 2),
                     "saved_vs_full_pct": round(100.0 * (1.0 - med / full), 1)}
    return out


def bench_automix(sig: np.ndarray, seconds: float, tsc: float) -> dict:
    """64x64: the full strip with every channel in automix group 1, beside the
    strip alone; the difference is what the automixer adds."""
    n_ch, frames = 64, 64
    blocks = as_blocks(sig[:n_ch, :int(seconds * FS)], frames)
    runners = {"strip": Ours(n_ch, frames, tsc),
               "strip + automix": Ours(n_ch, frames, tsc, **{"automix.group": "1"})}
    for r in runners.values():
        warm(r, blocks, 0.3)
    t = interleaved(runners, {name: blocks for name in runners})
    period = frames / FS * 1e6
    base = float(np.median(t["strip"]))
    with_am = float(np.median(t["strip + automix"]))
    return {"channels": n_ch, "frames": frames, "strip_median_us": round(base, 2),
            "automix_median_us": round(with_am, 2), "added_us": round(with_am - base, 2),
            "added_pct": round(100.0 * (with_am - base) / period, 2),
            "automix_p99_us": round(float(np.percentile(t["strip + automix"], 99)), 2)}


def bench_python_call(sig: np.ndarray, seconds: float, tsc: float) -> dict:
    """64x64: the same engine called through the numba dispatcher from Python."""
    n_ch, frames = 64, 64
    blocks = as_blocks(sig[:n_ch, :int(seconds * FS)], frames)
    driver = Ours(n_ch, frames, tsc)

    class PyCall:
        def __init__(self) -> None:
            self.o = Ours(n_ch, frames, tsc)

        def run(self, b: np.ndarray) -> np.ndarray:
            out, state, clock = self.o.out, self.o.state, time.perf_counter_ns
            times = np.zeros(b.shape[0])
            for i in range(b.shape[0]):
                inp = b[i]
                t0 = clock()
                process_block(inp, out, frames, *state)
                times[i] = clock() - t0
            return times / 1e3

    runners = {"driver": driver, "python": PyCall()}
    for r in runners.values():
        warm(r, blocks)
    t = interleaved(runners, {name: blocks for name in runners})
    d, p = float(np.median(t["driver"])), float(np.median(t["python"]))
    return {"driver_median_us": round(d, 2), "python_call_median_us": round(p, 2),
            "dispatch_overhead_us": round(p - d, 2)}


# -- report --------------------------------------------------------------------
def machine() -> dict:
    model = cpu_model()
    import hashlib

    import numba
    import pedalboard

    src = Path(sys.modules["automixd.engine"].__file__).parent
    sha = hashlib.sha1()
    for f in sorted(src.rglob("*.py")):
        sha.update(f.relative_to(src).as_posix().encode() + b"\0" + f.read_bytes())
    return {"engine": ENGINE_SOURCE, "engine_src_sha1": sha.hexdigest()[:12],
            "numba_cache": "shared (--reuse-numba-cache)" if "--reuse-numba-cache" in sys.argv
            else "private, compiled afresh",
            "nproc": os.cpu_count(), "cpu": model,
            "python": platform.python_version(), "numba": numba.__version__,
            "numpy": np.__version__, "pedalboard": pedalboard.__version__,
            "loadavg_start": [round(v, 2) for v in os.getloadavg()]}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def targets_of(grid: list[dict], silence: dict, automix: dict) -> dict:
    c64 = next(r for r in grid if r["channels"] == 64 and r["frames"] == 64)

    def target(label, value, text, ok):
        return {"label": label, "value": value, "target": text, "result": verdict(ok)}

    ratio = c64.get("ratio_ours_pb")
    # silence: the silent part against the signal part before it, and against
    # the control engine on signal in the same time window; both must hold
    devs = (silence["silent_vs_signal_pct"], silence["silent_vs_control_pct"])
    return {
        "median_pct_64x64": target("64x64 full strip, median % of one core", c64["median_pct"],
                                   f"<= {TARGET_MEDIAN_PCT}",
                                   c64["median_pct"] <= TARGET_MEDIAN_PCT),
        "p99_pct_64x64": target("64x64 full strip, p99 % of one core", c64["p99_pct"],
                                f"<= {TARGET_P99_PCT}", c64["p99_pct"] <= TARGET_P99_PCT),
        "ratio_ours_pb_64x64": target("ours / pedalboard at 64x64", ratio, f"<= {TARGET_PB_RATIO}",
                                      ratio is not None and ratio <= TARGET_PB_RATIO),
        "silence_vs_signal_pct": target("silence vs signal (before / beside), %",
                                        f"{devs[0]:+.1f} / {devs[1]:+.1f}",
                                        f"within +-{TARGET_SILENCE_PCT}",
                                        max(map(abs, devs)) <= TARGET_SILENCE_PCT),
        "automix_added_pct_64x64": target("automix stage added at 64x64, % of one core",
                                          automix["added_pct"], f"<= {TARGET_AUTOMIX_PCT}",
                                          automix["added_pct"] <= TARGET_AUTOMIX_PCT),
    }


def print_report(rec: dict) -> None:
    info = rec["machine"]
    print(f"automixd DSP benchmark ({rec['mode']}, {rec['seconds_per_cell']} s of audio per cell)")
    print(f"{info['nproc']} cpu  {info['cpu']}  python {info['python']}  numba {info['numba']}  "
          f"pedalboard {info['pedalboard']}")
    print(f"engine: {info['engine']} (sources sha1 {info['engine_src_sha1']})")
    print("full strip: HPF 80 Hz, gate -60 dB, 4-band EQ (+2/-3/+2.5/+1.5 dB), comp -30 dB 3:1, "
          "fader -6 dB, pan; main limiter; meters")
    print("signal: speech-like noise, -20 dBFS RMS per channel, 48 kHz; "
          "times are per block of all channels")
    print()
    hdr = (f"{'ch':>4} {'frames':>6} | {'median us':>9} {'p99 us':>8} | "
           f"{'% med':>6} {'% p99':>6} | {'ns/ch-smp':>9} | "
           f"{'pedalboard us':>13} {'pb %':>6} {'ours/pb':>7}")
    print(hdr)
    print("-" * len(hdr))
    for r in rec["grid"]:
        if "pb_median_us" in r:
            pb = f"{r['pb_median_us']:13.1f} {r['pb_median_pct']:6.1f} {r['ratio_ours_pb']:7.3f}"
        else:
            pb = f"{'-':>13} {'-':>6} {'-':>7}"
        print(f"{r['channels']:4d} {r['frames']:6d} | {r['median_us']:9.1f} {r['p99_us']:8.1f} | "
              f"{r['median_pct']:6.2f} {r['p99_pct']:6.2f} | {r['ns_per_ch_sample']:9.2f} | {pb}")
    am = rec["automix"]
    print(f"{'automix':>11} | 64x64 strip {am['strip_median_us']:.1f} us, strip + automix "
          f"{am['automix_median_us']:.1f} us: adds {am['added_us']:.1f} us = {am['added_pct']:.2f} % "
          "of one core")
    print()
    print("silence after signal, 64x64 (1 s of signal, then digital zeros; "
          "a control engine kept on signal runs interleaved):")
    for label, s in (("full strip", rec["silence"]), ("comp off", rec["silence_comp_off"])):
        print(f"  {label:<10}  signal {s['signal_median_us']:6.1f} us, "
              f"silent {s['silent_median_us']:6.1f} us ({s['silent_vs_signal_pct']:+5.1f} %)")
        print(f"  {'':<10}  first 250 ms of silence {s['silent_first_250ms_median_us']:6.1f} us; "
              f"control engine on signal meanwhile {s['control_signal_median_us']:6.1f} us "
              f"(silent {s['silent_vs_control_pct']:+5.1f} %)")
    print()
    print("stage cost, 64x64 (one change at a time, interleaved):")
    for name, v in rec["stages_64x64"].items():
        print(f"  {name:<16} {v['median_us']:8.1f} us  {v['pct_of_period']:5.2f} %  "
              f"{v['ns_per_ch_sample']:6.2f} ns/ch-sample  "
              f"saves {v['saved_vs_full_pct']:5.1f} % of full")
    print()
    pc = rec["python_call_64x64"]
    print(f"numba dispatcher called from Python instead of the nopython driver, 64x64: "
          f"{pc['python_call_median_us']:.1f} us vs {pc['driver_median_us']:.1f} us "
          f"({pc['dispatch_overhead_us']:+.1f} us per block)")
    print()
    print("targets:")
    for t in rec["targets"].values():
        print(f"  {t['label']:<40} {t['value']!s:>13}  target {t['target']:<12} {t['result']}")
    print(f"\n(wall time {rec['wall_s']:.0f} s; TSC {rec['tsc_ticks_per_ns']} -> "
          f"{rec['tsc_ticks_per_ns_end']} ticks/ns; load average at start {info['loadavg_start']})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="0.5 s per cell; pedalboard at 64x64 only")
    ap.add_argument("--rev", metavar="COMMIT",
                    help="measure the engine as committed in COMMIT instead of the working tree")
    ap.add_argument("--reuse-numba-cache", action="store_true",
                    help="use numba's shared cache (faster start; may run stale kernels)")
    args = ap.parse_args(argv)
    global ENGINE_SOURCE
    ENGINE_SOURCE = load_engine(args.rev)
    quick = args.quick
    seconds = 0.5 if quick else 3.0
    pb_cells = {(64, 64)} if quick else {(c, f) for c in CHANNELS for f in FRAMES}

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    info = machine()
    log("generating signal, compiling ...")
    sig = speech_like(max(CHANNELS), int(max(seconds, 1.5 if quick else 3.0) * FS) + 256)
    tsc = calibrate_tsc()
    log(f"TSC {tsc:.4f} ticks/ns; grid ({seconds} s of audio per cell):")
    grid = bench_grid(sig, seconds, pb_cells, tsc, log)
    log("silence after signal ...")
    silent_s = 0.5 if quick else 2.0
    silence = bench_silence(sig, silent_s, tsc)
    silence_comp_off = bench_silence(sig, silent_s, tsc, comp_on=False)
    log("stage cost ...")
    stages = bench_stages(sig, 0.5 if quick else 1.5, tsc)
    log("automix ...")
    automix = bench_automix(sig, 0.5 if quick else 1.5, tsc)
    log("python dispatch ...")
    pycall = bench_python_call(sig, 0.5 if quick else 1.0, tsc)
    rec = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": info,
        "tsc_ticks_per_ns": round(tsc, 4),
        "tsc_ticks_per_ns_end": round(calibrate_tsc(), 4),
        "seconds_per_cell": seconds,
        "grid": grid,
        "automix": automix,
        "silence": silence,
        "silence_comp_off": silence_comp_off,
        "stages_64x64": stages,
        "python_call_64x64": pycall,
        "targets": targets_of(grid, silence, automix),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print_report(rec)
    print("JSON " + json.dumps(rec, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
