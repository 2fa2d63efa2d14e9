"""What a period of idling costs the next block: the live-vs-offline gap, offline.

Run from the repository root::

    .venv/bin/python benchmarks/idle_gap.py                # 64 ch x 128 frames, 8 s of audio
    .venv/bin/python benchmarks/idle_gap.py --rev HEAD~1   # an earlier commit's engine

Offline benchmarks run blocks back to back; the live callback runs one block
per period and its thread sleeps in between. On the shared 2-vCPU EPYC guest
the live callback's own work (its thread's CPU clock) has a median about 45 %
above the same blocks offline. This script times one engine (the soak's
scene and signal, as ``plan_spread.py``) on a single stream of blocks, each
block preceded by one of these gaps, the gaps taking turns in short rounds so
the host's slow spells fall on all alike:

``none``
    back to back, as every offline benchmark;
``sleep``
    the thread sleeps 90 % of a period, as the audio thread waits for its
    next cycle (the vCPU may halt, and the host may run something else on
    its core);
``spin``
    the thread busy-waits the same time (the vCPU never halts);
``sweep 4M``, ``sweep 64M``
    the thread reads 4 MiB (more than its L2) or 64 MiB (more than the L3)
    instead of waiting;
``sleep + code``
    sleeps, then a twin engine (same scene, its own memory) runs a block:
    the code, branch predictors and TLB are warm, this engine's data is not;
``sleep + data``
    sleeps, then this engine's plan arrays are read once, one load per
    cache line.

The step between the gap and the timed block (the twin's block, the read) is
timed on its own and reported as ``pre us``.

Reported per gap: median and p99 µs per block and the median over the
back-to-back one. The output is a table and then one line ``JSON {...}``.
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
import plan_spread as ps

FS = dsp.FS
GAPS = ("none", "sleep", "spin", "sweep 4M", "sweep 64M", "sleep + code", "sleep + data")
#: Blocks each gap gets per round (the rounds alternate their order).
ROUND_BLOCKS = 25
LINE = 64


@njit(nogil=True)
def _timed(block, out, nframes, state):
    t0 = dsp._rdtsc()
    dsp.process_block(block, out, nframes, *state)
    return dsp._rdtsc() - t0


@njit(nogil=True)
def _spin(ticks):
    t0 = dsp._rdtsc()
    while dsp._rdtsc() - t0 < ticks:
        pass


@njit(nogil=True)
def _read_lines(arrays):
    """Read one byte per cache line of each array; returns the ticks it took
    and the sum (returned so the loads are not optimised away)."""
    t0 = dsp._rdtsc()
    s = 0
    for a in arrays:
        for i in range(0, a.size, LINE):
            s += a[i]
    return dsp._rdtsc() - t0, s


@njit(nogil=True)
def _read_all(big):
    s = 0.0
    for i in range(0, big.size, LINE // 8):
        s += big[i]
    return s


def state_arrays(state: tuple) -> list[np.ndarray]:
    """Every array among ``process_block``'s state arguments (tuples opened)."""
    return [x for a in state for x in (a if isinstance(a, tuple) else (a,)) if isinstance(x, np.ndarray)]


def plan_bytes(plan) -> tuple:
    """Byte views of the plan's arrays but the delay ring (a block touches a few
    of its rows, and reading it all would be a sweep of its own)."""
    return tuple(x.reshape(-1).view(np.uint8) for x in state_arrays(plan.state_args()) if x is not plan.ring)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=8.0, help="audio per gap")
    ap.add_argument("--rev", metavar="COMMIT", help="the engine as committed in COMMIT")
    ap.add_argument("--gaps", default=",".join(GAPS),
                    help=f"comma-separated, from: {', '.join(GAPS)} (default all)")
    args = ap.parse_args(argv)
    gaps = tuple(g.strip() for g in args.gaps.split(","))
    if "none" not in gaps or not set(gaps) <= set(GAPS):
        ap.error(f"--gaps: 'none' and any of {', '.join(GAPS)}")
    source = dsp.load_engine(args.rev)
    n_ch, frames = args.channels, args.frames
    started = time.perf_counter()
    period_s = frames / FS
    per_gap = max(int(args.seconds / period_s) // ROUND_BLOCKS, 2) * ROUND_BLOCKS
    sig = ps.bursts(n_ch, per_gap * len(gaps) * frames + frames)
    blocks = dsp.as_blocks(sig, frames)
    scene = ps.soak_scene(n_ch, frames)
    eng, twin = dsp.Engine.from_scene(scene), dsp.Engine.from_scene(scene)
    out = np.zeros((eng.n_outputs, frames), dtype=np.float32)
    out2 = np.zeros_like(out)
    state, state2 = eng.plan.state_args(), twin.plan.state_args()
    lines = plan_bytes(eng.plan)
    big = np.ones((64 << 20) // 8)
    tsc = dsp.calibrate_tsc()
    spin_ticks = int(0.9 * period_s * 1e9 * tsc)
    for i in range(int(0.2 / period_s)):  # compile and settle
        _timed(blocks[i], out, frames, state)
        _timed(blocks[i], out2, frames, state2)
    _read_lines(lines), _read_all(big[:8]), _spin(1)

    def gap(name: str, i: int) -> int:
        if name.startswith("sleep"):
            time.sleep(0.9 * period_s)
        elif name == "spin":
            _spin(spin_ticks)
        elif name.startswith("sweep"):
            _read_all(big[:(4 << 20) // 8] if name == "sweep 4M" else big)
        if name == "sleep + code":
            return _timed(blocks[i], out2, frames, state2)
        if name == "sleep + data":
            return _read_lines(lines)[0]
        return 0

    ticks = {g: [] for g in gaps}
    pre = {g: [] for g in gaps}
    i = 0
    for r in range(per_gap // ROUND_BLOCKS):
        for g in (gaps if r % 2 == 0 else gaps[::-1]):
            for _ in range(ROUND_BLOCKS):
                pre[g].append(gap(g, i))
                ticks[g].append(_timed(blocks[i], out, frames, state))
                i += 1
    us = {g: np.asarray(ticks[g]) / tsc / 1e3 for g in gaps}
    pre_us = {g: np.asarray(pre[g]) / tsc / 1e3 for g in gaps}
    base = float(np.median(us["none"]))
    period_us = period_s * 1e6
    rows = {g: {"median_us": round(float(np.median(us[g])), 1),
                "p99_us": round(float(np.percentile(us[g], 99)), 1),
                "p99_pct": round(float(100 * np.percentile(us[g], 99) / period_us), 2),
                "x_back_to_back": round(float(np.median(us[g])) / base, 2),
                "pre_us": round(float(np.median(pre_us[g])), 1)} for g in gaps}
    rec = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "engine": source, "cpu": dsp.cpu_model(), "channels": n_ch, "frames": frames,
        "blocks_per_gap": per_gap, "round_blocks": ROUND_BLOCKS, "gaps": rows,
        "plan_bytes_read": int(sum(v.size for v in lines)),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(f"idle gap: one engine, {n_ch} ch x {frames} frames, {per_gap} blocks per gap, "
          f"gaps in turns of {ROUND_BLOCKS}; {source}")
    print(f"{'gap before the block':>22} {'median us':>10} {'p99 us':>8} {'p99 %':>6} "
          f"{'x none':>7} {'pre us':>7}")
    for g, row in rows.items():
        print(f"{g:>22} {row['median_us']:10.1f} {row['p99_us']:8.1f} {row['p99_pct']:6.2f} "
              f"{row['x_back_to_back']:7.2f} {row['pre_us']:7.1f}")
    kib = rec["plan_bytes_read"] >> 10
    print(f"(pre us: the twin's block, or the read of the plan's {kib} KiB)")
    print("JSON " + json.dumps(rec, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
