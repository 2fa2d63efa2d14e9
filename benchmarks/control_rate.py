"""Cost of parameter changes on the audio path: a fader moved before every block.

A control surface or an OSC client moving a fader sends a change every few
milliseconds; the block that sees it must not recompute every channel.
These cases run interleaved, round by round, on one engine (64 channels x
64 frames by default; ``--channels``, ``--frames``), full strip, all channels
in automix group 1:

- ``none``: no change (the strip alone);
- ``one``: ``ch.5.fader_db`` set before every block (only channel 5 updates);
- ``eq``: ``ch.5.eq.2.gain_db`` set before every block (channel 5's EQ glides,
  its coefficients ramp per sample; the other sections and channels do not);
- ``soak``: the soak's control pattern (``realtime_soak.py``) at 1000
  changes per second of audio: fader, EQ band 2 gain, compressor threshold and
  pan in turn, channels round-robin, so 16 channels' EQ and 32 channels'
  gains glide at any time (what the live soak's blocks see, and offline timings of the
  strip alone do not);
- ``all``: every parameter marked changed before every block (what every
  change cost before per-channel change tracking; also what a values-only
  scene reload costs, once).

Prints a table (median and p99 of ``process_block`` in us and in % of the
period) and one JSON line. ``--rounds N`` (default 20 x 500 blocks).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _common import cpu_model, git, soak_changes, use_revision

FS = 48000
FRAMES = 64
N_CH = 64
CONTROL_HZ = 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--blocks", type=int, default=500, help="blocks per case per round")
    ap.add_argument("--rev", metavar="COMMIT", help="measure the engine as committed in COMMIT")
    ap.add_argument("--channels", type=int, default=N_CH)
    ap.add_argument("--frames", type=int, default=FRAMES, help="frames per block")
    args = ap.parse_args()
    n_ch, frames = args.channels, args.frames
    if args.rev:
        use_revision(args.rev, "automixd-ctl-src-")
    from automixd.engine import Engine  # noqa: PLC0415 - after --rev chose the package
    from automixd.engine.kernels.process import process_block  # noqa: PLC0415

    strip = {"hpf": {"on": True}, "gate": {"on": True}, "eq": {"on": True}, "comp": {"on": True},
             "automix": {"group": 1}}
    eng = Engine.from_scene({"channels": n_ch, "ch": {str(i): strip for i in range(1, n_ch + 1)},
                             "automix": {"1": {"on": True}}})
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((n_ch, frames))).astype(np.float32)
    out = np.empty((eng.n_outputs, frames), np.float32)
    state = eng._args
    times: dict[str, list[int]] = {"none": [], "one": [], "eq": [], "soak": [], "all": []}
    step = 0
    changes, due = soak_changes(n_ch), 0.0
    per_block = frames / FS * CONTROL_HZ
    for _ in range(args.rounds):
        for case, ts in times.items():
            for _ in range(args.blocks):
                if case == "one":
                    step += 1
                    eng.set("ch.5.fader_db", -10.0 + (step % 20) * 0.1)
                elif case == "eq":
                    step += 1
                    eng.set("ch.5.eq.2.gain_db", -6.0 + (step % 40) * 0.3)
                elif case == "soak":
                    due += per_block
                    while due >= 1.0:
                        eng.set(*next(changes))
                        due -= 1.0
                elif case == "all":
                    eng.plan.mark_changed()
                t0 = time.perf_counter_ns()
                process_block(x, out, frames, *state)
                ts.append(time.perf_counter_ns() - t0)
    period_us = frames / FS * 1e6
    rows = {}
    print(f"automixd control-rate benchmark: {n_ch} ch x {frames} frames, full strip + automix")
    engine = git("rev-parse", "--short", args.rev or "HEAD") + ("" if args.rev else " (working tree)")
    print(f"{cpu_model()}  engine {engine}  "
          f"{args.rounds} rounds x {args.blocks} blocks per case\n")
    print(f"{'case':<6} {'median us':>10} {'p99 us':>8} {'median %':>9} {'p99 %':>7} {'extra us':>9}")
    base = float(np.median(times["none"])) / 1e3
    for case, ts in times.items():
        med = float(np.median(ts)) / 1e3
        p99 = float(np.percentile(ts, 99)) / 1e3
        rows[case] = {"median_us": round(med, 1), "p99_us": round(p99, 1),
                      "median_pct": round(100 * med / period_us, 2), "p99_pct": round(100 * p99 / period_us, 2),
                      "extra_us": round(med - base, 1)}
        print(f"{case:<6} {med:10.1f} {p99:8.1f} {rows[case]['median_pct']:9.2f} "
              f"{rows[case]['p99_pct']:7.2f} {med - base:9.1f}")
    print("JSON " + json.dumps({"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                "engine": engine, "cpu": cpu_model(),
                                "channels": n_ch, "frames": frames, "rounds": args.rounds,
                                "blocks": args.blocks, "results": rows}))


if __name__ == "__main__":
    main()
