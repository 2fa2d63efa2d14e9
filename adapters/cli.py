"""The ``automixd`` command line: run, devices, render, check, params, demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..engine import SceneError


def _cmd_render(args: argparse.Namespace) -> int:
    from .render import RenderError, render

    try:
        result = render([Path(p) for p in args.inputs], Path(args.output),
                        scene=Path(args.scene) if args.scene else None, block=args.block,
                        overrides=args.set, telemetry=Path(args.telemetry) if args.telemetry else None,
                        stems=Path(args.stems) if args.stems else None,
                        plot=Path(args.plot) if args.plot else None)
    except SceneError as exc:
        print(f"automixd render: {exc}", file=sys.stderr)
        return 1
    except RenderError as exc:
        print(f"automixd render: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        secs = result.frames / result.sample_rate
        print(f"wrote {result.output} ({secs:.2f} s at {result.sample_rate} Hz)", file=sys.stderr)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from ..engine import Scene

    status = 0
    for path in args.scenes:
        try:
            scene = Scene.load(path)
        except SceneError as exc:
            print(str(exc), file=sys.stderr)
            status = 1
            continue
        buses = ", ".join(f"{b.name} ({'stereo' if b.channels == 2 else 'mono'})" for b in scene.buses)
        print(f"{path}: ok: {len(scene.channels)} channels at {scene.sample_rate} Hz, "
              f"block {scene.block_size}; buses: {buses}")
    return status


def _cmd_params(args: argparse.Namespace) -> int:
    from ..engine import Engine

    try:
        engine = Engine.from_scene(args.scene or {"channels": 1})
    except SceneError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    rows = [("path", "unit", "range", "default", "value")]
    for path, spec, value in engine.params():
        if args.filter and args.filter not in path:
            continue
        if spec.choices:
            rng = "|".join(str(c) for c in spec.choices)
        elif spec.scale == "bool":
            rng = "true|false"
        else:
            rng = f"{spec.lo:g}..{spec.hi:g}"
        rows.append((path, spec.unit, rng, _show(spec.display(spec.default)), _show(value)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .render import RenderError

    try:
        run_demo(Path(args.out), Path(args.scene), seconds=args.seconds)
    except (RenderError, SceneError) as exc:
        print(f"automixd demo: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .daemon import Daemon, setup_logging

    setup_logging(args.log_level)
    meters = sys.stdout.isatty() if args.meters is None else args.meters
    daemon = Daemon(Path(args.scene) if args.scene else None, backend=args.backend,
                    client_name=args.jack_name, server=args.jack_server, device=args.device,
                    meters=meters, cpu_latency_us=args.cpu_latency_us)
    return daemon.run()


def _cmd_devices(args: argparse.Namespace) -> int:
    from .daemon import list_devices

    print(list_devices())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="automixd", description="Live automixing daemon and offline renderer.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("render", help="render audio files through a scene")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="WAV/FLAC files; their channels feed inputs 1..N")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file (.wav or .flac): the main bus")
    p.add_argument("--scene", metavar="SCENE.toml", help="scene file (default: one plain channel per input)")
    p.add_argument("--block", type=int, metavar="N", help="host block size in frames (default: the scene's)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="set a parameter, e.g. ch.1.fader_db=-6 (repeatable)")
    p.add_argument("--telemetry", metavar="FILE.csv", help="write meters per channel every 10 ms")
    p.add_argument("--stems", metavar="DIR", help="also write every bus to DIR/<bus>.wav")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw each channel's automix gain and talking state above the output level")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser("check", help="validate scene files")
    p.add_argument("scenes", nargs="+", metavar="SCENE.toml")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("params", help="list every parameter path with unit, range, default and value")
    p.add_argument("--scene", metavar="SCENE.toml")
    p.add_argument("--filter", metavar="TEXT", help="only paths containing TEXT")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("run", help="run the live mixer (JACK or PortAudio) until SIGTERM/Ctrl-C")
    p.add_argument("--scene", metavar="SCENE.toml", help="scene file (SIGHUP reloads it)")
    p.add_argument("--backend", choices=("auto", "jack", "portaudio"), default="auto",
                   help="auto: a running JACK server, else the default PortAudio device, "
                        "else a private JACK server with the dummy backend")
    p.add_argument("--jack-name", default="automixd", metavar="NAME", help="JACK client name")
    p.add_argument("--jack-server", metavar="NAME",
                   help="JACK server name (default: $JACK_DEFAULT_SERVER or the default server)")
    p.add_argument("--device", metavar="NAME", help="PortAudio device name (substring) or index")
    p.add_argument("--meters", action=argparse.BooleanOptionalAction, default=None,
                   help="live meters on the terminal (default: when stdout is a terminal)")
    p.add_argument("--cpu-latency-us", type=int, metavar="US",
                   help="while running, keep the CPUs out of idle states slower than US "
                        "microseconds to wake (/dev/cpu_dma_latency; 0 = poll; needs root or a udev rule)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("devices", help="list JACK ports and PortAudio devices")
    p.set_defaults(func=_cmd_devices)

    p = sub.add_parser("demo", help="render the bundled podcast demo")
    p.add_argument("--scene", default="config/podcast.toml", metavar="SCENE.toml")
    p.add_argument("--out", default="out", metavar="DIR")
    p.add_argument("--seconds", type=float, default=20.0)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `automixd params | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
