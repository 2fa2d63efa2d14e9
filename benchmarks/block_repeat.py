"""Whose is the slow block: the signal's or the host's? The same blocks, repeated.

Run from the repository root::

    .venv/bin/python benchmarks/block_repeat.py            # 64 ch x 128 frames, 4 s, 5 repeats
    .venv/bin/python benchmarks/block_repeat.py --sleep    # each block after 90 % of a period asleep
    .venv/bin/python benchmarks/block_repeat.py --rev HEAD~1

The real-time target is on the callback's p99, and offline the p99 of a
block is well above its median. If the slow blocks were slow because of
what they compute (a gate opening, a share tick, a burst starting), the
engine could be made cheaper there. This script plays one stream of blocks
(the soak's scene and signal, as ``plan_spread.py``) several times through
one engine, restoring the engine's state before each repeat so every repeat
does exactly the same work, and times every block (TSC). Then for each
block its least cost over the repeats is what the work costs; the rest is
what the machine added that time. Reported: each repeat's median and p99,
the least-cost distribution (median, p99, max), and how the blocks' times
correlate from one repeat to the next (near 1: the work decides; near 0:
the host does). The output is a table and then one line ``JSON {...}``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time

import numpy as np

import dsp
import plan_spread as ps
from idle_gap import _timed, state_arrays

FS = dsp.FS


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=4.0, help="audio per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sleep", action="store_true",
                    help="sleep 90 %% of a period before each block, as the live audio thread does")
    ap.add_argument("--rev", metavar="COMMIT", help="the engine as committed in COMMIT")
    args = ap.parse_args(argv)
    if args.repeats < 3:
        ap.error("--repeats: at least 3")
    source = dsp.load_engine(args.rev)
    n_ch, frames = args.channels, args.frames
    started = time.perf_counter()
    period_s = frames / FS
    n_blocks = max(int(args.seconds / period_s), 100)
    settle = int(0.5 / period_s)
    blocks = dsp.as_blocks(ps.bursts(n_ch, (settle + n_blocks + 1) * frames), frames)
    eng = dsp.Engine.from_scene(ps.soak_scene(n_ch, frames))
    out = np.zeros((eng.n_outputs, frames), dtype=np.float32)
    state = eng.plan.state_args()
    tsc = dsp.calibrate_tsc()
    for i in range(settle):  # compile, and let detectors and gains leave their start values
        _timed(blocks[i], out, frames, state)
    mem = state_arrays(state)
    snapshot = [a.copy() for a in mem]
    ticks = np.zeros((args.repeats, n_blocks), dtype=np.int64)
    outs = []
    for r in range(args.repeats):
        for a, s in zip(mem, snapshot):
            a[...] = s
        rec_out = np.zeros((n_blocks, eng.n_outputs, frames), dtype=np.float32)
        for i in range(n_blocks):
            if args.sleep:
                time.sleep(0.9 * period_s)
            ticks[r, i] = _timed(blocks[settle + i], out, frames, state)
            rec_out[i] = out
        outs.append(rec_out)
    same_work = all(np.array_equal(outs[0], o) for o in outs[1:])
    us = ticks / tsc / 1e3
    # the first repeat also brings the stream into the caches; it is left out of the least cost
    least = us[1:].min(axis=0)
    corr = np.corrcoef(us[1:])
    off_diag = corr[~np.eye(corr.shape[0], dtype=bool)]
    period_us = period_s * 1e6
    per_repeat = [{"median_us": round(float(np.median(u)), 1), "p99_us": round(float(np.percentile(u, 99)), 1)}
                  for u in us]
    least_row = {"median_us": round(float(np.median(least)), 1),
                 "p99_us": round(float(np.percentile(least, 99)), 1),
                 "max_us": round(float(least.max()), 1)}
    all_p99 = float(np.percentile(us[1:], 99))
    rec = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "engine": source, "cpu": dsp.cpu_model(), "channels": n_ch, "frames": frames,
        "blocks": n_blocks, "repeats": args.repeats, "sleep": args.sleep,
        "same_output_every_repeat": same_work, "repeats_us": per_repeat, "least_us": least_row,
        "p99_pct_all": round(100 * all_p99 / period_us, 2),
        "p99_pct_least": round(100 * least_row["p99_us"] / period_us, 2),
        "corr_between_repeats": {"mean": round(float(off_diag.mean()), 3),
                                 "min": round(float(off_diag.min()), 3),
                                 "max": round(float(off_diag.max()), 3)},
        "wall_s": round(time.perf_counter() - started, 1),
    }
    gap = "90 % of a period asleep before each" if args.sleep else "back to back"
    print(f"block repeat: {n_ch} ch x {frames} frames, {n_blocks} blocks x {args.repeats} repeats, "
          f"{gap}; {source}")
    print(f"{'':>26} {'median us':>10} {'p99 us':>8} {'max us':>8}")
    for r, row in enumerate(per_repeat):
        print(f"{'repeat ' + str(r + 1):>26} {row['median_us']:10.1f} {row['p99_us']:8.1f} "
              f"{float(us[r].max()):8.1f}")
    print(f"{'least over repeats 2..':>26} {least_row['median_us']:10.1f} {least_row['p99_us']:8.1f} "
          f"{least_row['max_us']:8.1f}")
    c = rec["corr_between_repeats"]
    print(f"p99 of every block of repeats 2..: {rec['p99_pct_all']} % of the period; of the least "
          f"costs: {rec['p99_pct_least']} %")
    print(f"correlation of the blocks' times between repeats: mean {c['mean']}, "
          f"range {c['min']} .. {c['max']}; the same output every repeat: {same_work}")
    print("JSON " + json.dumps(rec, separators=(",", ":")))
    return 0 if same_work else 1


if __name__ == "__main__":
    sys.exit(main())
