"""Plan memory: how much the cost of one block depends on where its plan landed.

Run from the repository root::

    .venv/bin/python benchmarks/plan_spread.py              # 16 engines, 64 ch x 128 frames
    .venv/bin/python benchmarks/plan_spread.py --rev HEAD~1 # an earlier commit's engine

A daemon builds its plan once and keeps it: if the same work costs two or
three times as much in one allocation as in another, its real-time margin is a
matter of luck. This script builds N *identical* engines in one process (the
soak's scene: the full strip of ``dsp.py`` on every channel, all in automix
group 1, fed the soak feeder's bursts or ``dsp.py``'s speech-like noise), one after another as a daemon builds
plans, then times every engine on the same blocks, interleaved round by round
(``dsp.interleaved``), so the machine's slow spells fall on all alike. With
``--cold`` each engine's caches are swept before every block (a 4 MiB sweep,
as the other clients of a JACK graph do between periods).

Reported: each engine's median µs per block, their spread (slowest over
fastest median) and how many engines took more than 1.5x the fastest. The
output is a table and then one line ``JSON {...}``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time

import numpy as np
from numba import njit

import dsp

FS = dsp.FS
SLOW_FACTOR = 1.5


@njit(nogil=True)
def _run_cold(blocks, out, nframes, ticks, state, sweep):
    """``dsp._run_blocks`` with the caches swept before every block."""
    for i in range(blocks.shape[0]):
        for j in range(0, sweep.size, 8):
            sweep[j] += 1.0
        t0 = dsp._rdtsc()
        dsp.process_block(blocks[i], out, nframes, *state)
        ticks[i] = dsp._rdtsc() - t0


def bursts(n_ch: int, n: int, seed: int = 3) -> np.ndarray:
    """The soak feeder's signal: low-passed noise in bursts (0.6 sin^2 envelopes at
    0.2-1.3 Hz, a different rate and phase per channel) over a -90 dB floor, so
    gates open and close and the automixer's shares move."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    out = np.empty((n_ch, n), dtype=np.float32)
    for p in range(n_ch):
        s = np.sin(2 * np.pi * (0.2 + 0.18 * (p % 7)) * t + 0.9 * p)
        env = np.where(s > 0.0, 0.6 * s * s, 0.0) + 3e-5
        noise = dsp.sps.lfilter([0.3], [1.0, -0.7], rng.uniform(-1.0, 1.0, n))
        out[p] = env * noise
    return out


def soak_scene(n_ch: int, frames: int) -> dict:
    """The strip of ``dsp.STRIP`` on every channel, all in automix group 1, built
    from one scene as the daemon builds it (the soak's scene)."""
    strip: dict = {"automix": {"group": 1}}
    for key, value in dsp.STRIP.items():
        *parents, leaf = key.split(".")
        node = strip
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    ch = {str(i): {**strip, "pan": round(-0.8 + 1.6 * (i - 1) / max(n_ch - 1, 1), 3)}
          for i in range(1, n_ch + 1)}
    return {"sample_rate": FS, "block_size": frames, "channels": n_ch, "ch": ch,
            "automix": {"1": {"on": True}}, "bus": {"main": {"limiter": {"on": True}}}}


class Runner(dsp.Ours):
    """One engine of the scene; ``cold`` sweeps the caches before every block."""

    sweep = np.zeros((4 << 20) // 8)

    def __init__(self, scene: dict, frames: int, tsc_per_ns: float, cold: bool) -> None:
        self.engine = dsp.Engine.from_scene(scene)
        self.frames, self.tsc_per_ns, self.cold = frames, tsc_per_ns, cold
        self.out = np.zeros((self.engine.n_outputs, frames), dtype=np.float32)
        self.state = self.engine.plan.state_args()

    def run(self, blocks: np.ndarray) -> np.ndarray:
        if not self.cold:
            return super().run(blocks)
        ticks = np.zeros(blocks.shape[0], dtype=np.int64)
        _run_cold(blocks, self.out, self.frames, ticks, self.state, self.sweep)
        return ticks / self.tsc_per_ns / 1e3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engines", type=int, default=16)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=2.0, help="audio per engine")
    ap.add_argument("--rev", metavar="COMMIT", help="the engine as committed in COMMIT")
    ap.add_argument("--signal", choices=("bursts", "speech"), default="bursts",
                    help="the soak feeder's bursts (default) or dsp.py's speech-like noise")
    ap.add_argument("--cold", action="store_true", help="sweep the caches before every block")
    args = ap.parse_args(argv)
    source = dsp.load_engine(args.rev)
    n_ch, frames = args.channels, args.frames
    started = time.perf_counter()
    n = int(args.seconds * FS) + frames
    sig = bursts(n_ch, n) if args.signal == "bursts" else dsp.speech_like(n_ch, n)
    blocks = dsp.as_blocks(sig, frames)
    tsc = dsp.calibrate_tsc()
    scene = soak_scene(n_ch, frames)
    runners = {e: Runner(scene, frames, tsc, args.cold) for e in range(args.engines)}
    for r in runners.values():
        dsp.warm(r, blocks, 0.2)
    t = dsp.interleaved(runners, {e: blocks for e in runners})
    med = np.array([float(np.median(t[e])) for e in runners])
    p99 = np.array([float(np.percentile(t[e], 99)) for e in runners])
    period_us = frames / FS * 1e6
    fastest = float(med.min())
    rec = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "engine": source, "cpu": dsp.cpu_model(), "channels": n_ch, "frames": frames,
        "engines": args.engines, "cold": args.cold, "signal": args.signal, "seconds_per_engine": args.seconds,
        "median_us": [round(x, 1) for x in med], "p99_us": [round(x, 1) for x in p99],
        "fastest_us": round(fastest, 1), "median_of_medians_us": round(float(np.median(med)), 1),
        "slowest_us": round(float(med.max()), 1), "spread": round(float(med.max() / fastest), 2),
        "slow_engines": int((med > SLOW_FACTOR * fastest).sum()),
        "worst_p99_pct": round(float(100 * p99.max() / period_us), 2),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(f"plan spread: {args.engines} identical engines, {n_ch} ch x {frames} frames"
          f"{', caches swept before every block' if args.cold else ''}; {source}")
    print(f"{'engine':>6} {'median us':>10} {'p99 us':>8} {'x fastest':>10}")
    for e, (m, p) in enumerate(zip(med, p99)):
        print(f"{e:6d} {m:10.1f} {p:8.1f} {m / fastest:10.2f}")
    print(f"spread {rec['spread']}x (fastest {rec['fastest_us']} us, median {rec['median_of_medians_us']} us, "
          f"slowest {rec['slowest_us']} us); engines over {SLOW_FACTOR}x the fastest: "
          f"{rec['slow_engines']} of {args.engines}; worst p99 {rec['worst_p99_pct']} % of the period")
    print("JSON " + json.dumps(rec, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
