"""Offline render: audio files through the same engine the daemon runs live.

The files' channels, in order, feed inputs 1..N. The output is latency
compensated (the bus limiter's look-ahead is removed), so an output sample
lines up with the input sample it came from. Files are streamed block by
block, and outputs are written to a temporary file that replaces the target
only once complete: an existing file is never half-overwritten.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ..engine import Engine, Scene
from ..engine.engine import CHANNEL_TELEMETRY

#: Telemetry rows are written every 10 ms.
TELEMETRY_PERIOD_S = 0.010
READ_FRAMES = 65536


class RenderError(Exception):
    """A render that cannot proceed; the message says why and what to do."""


@dataclass
class RenderResult:
    output: Path
    frames: int
    sample_rate: int
    stems: list[Path] = field(default_factory=list)
    telemetry: Path | None = None


def parse_set(items: list[str]) -> list[tuple[str, Any]]:
    """Parse ``PATH=VALUE`` overrides; values are numbers, booleans or names."""
    pairs = []
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise RenderError(f"--set {item!r}: expected PATH=VALUE, e.g. ch.1.fader_db=-6")
        text = text.strip()
        value: Any = text
        if text.lower() in ("true", "false", "on", "off"):
            value = text.lower() in ("true", "on")
        else:
            with contextlib.suppress(ValueError):
                value = float(text)
        pairs.append((path.strip(), value))
    return pairs


def _open_inputs(paths: list[Path]) -> list[sf.SoundFile]:
    files = []
    try:
        for path in paths:
            if not path.exists():
                raise RenderError(f"{path}: no such file")
            try:
                files.append(sf.SoundFile(str(path)))
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise RenderError(f"{path}: not a readable audio file ({exc})") from None
    except RenderError:
        for f in files:
            f.close()
        raise
    rates = {f.samplerate for f in files}
    if len(rates) > 1:
        detail = ", ".join(f"{p.name}: {f.samplerate} Hz" for p, f in zip(paths, files))
        for f in files:
            f.close()
        raise RenderError(f"input sample rates differ ({detail}); resample them to one rate first")
    return files


def _subtype(path: Path) -> str:
    return "PCM_24" if path.suffix.lower() == ".flac" else "FLOAT"


class _Atomic:
    """A file written beside its target and renamed into place only on success,
    so an existing target is never half-overwritten."""

    def __init__(self, target: Path) -> None:
        self.target = target
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix or ".tmp",
                                   dir=target.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.file = None

    def commit(self) -> None:
        self.file.close()
        os.replace(self.tmp, self.target)

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
        self.tmp.unlink(missing_ok=True)


class _AtomicAudio(_Atomic):
    def __init__(self, target: Path, channels: int, rate: int) -> None:
        super().__init__(target)
        fmt = "FLAC" if target.suffix.lower() == ".flac" else "WAV"
        self.file = sf.SoundFile(str(self.tmp), "w", samplerate=rate, channels=channels,
                                 format=fmt, subtype=_subtype(target))

    def write(self, block: np.ndarray) -> None:
        self.file.write(block.T)


class _AtomicCsv(_Atomic):
    def __init__(self, target: Path, header: list[str]) -> None:
        super().__init__(target)
        self.file = open(self.tmp, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.file)
        self.writer.writerow(header)


def build_engine(scene_path: Path | None, n_file_channels: int, rate: int,
                 block: int | None, overrides: list[tuple[str, Any]]) -> Engine:
    """The engine for a render: the scene (or one channel per input) plus overrides."""
    if scene_path is not None:
        scene = Scene.load(scene_path)
        if scene.sample_rate != rate:
            raise RenderError(f"the inputs are at {rate} Hz but {scene_path} is at "
                              f"{scene.sample_rate} Hz; resample the inputs or change sample_rate")
    else:
        scene = Scene.from_dict({"sample_rate": rate, "channels": max(n_file_channels, 1)},
                                source="default scene")
    if block is not None:
        scene.block_size = block
    engine = Engine(scene, max_frames=max(scene.block_size, 1))
    if engine.n_inputs != n_file_channels:
        raise RenderError(f"the scene reads {engine.n_inputs} inputs but the files have "
                          f"{n_file_channels} channels in all; give files whose channels add up "
                          f"to {engine.n_inputs}")
    for path, value in overrides:
        try:
            engine.set(path, value)
        except (KeyError, ValueError) as exc:
            raise RenderError(f"--set {path}: {exc.args[0]}") from None
    return engine


def render(inputs: list[Path], output: Path, scene: Path | None = None, block: int | None = None,
           overrides: list[str] | None = None, telemetry: Path | None = None,
           stems: Path | None = None, progress: bool | None = None,
           plot: Path | None = None) -> RenderResult:
    """Render ``inputs`` through a scene to ``output`` (the main bus).

    Parameters
    ----------
    block : int, optional
        Host block size in frames (default: the scene's ``block_size``).
    overrides : list of str
        ``PATH=VALUE`` parameter settings applied before the first sample.
    telemetry : Path, optional
        CSV with one row per channel per 10 ms: ``time_s,ch,name,<meters>``.
    stems : Path, optional
        Folder receiving one file per bus (``main.wav``, ``<aux>.wav``).
    plot : Path, optional
        PNG drawing each channel's automix gain and talking state over time
        above the output level (needs matplotlib).
    """
    if not inputs:
        raise RenderError("no input files given")
    if block is not None and not 1 <= block <= 8192:
        raise RenderError(f"--block {block}: expected 1..8192 frames")
    if not output.parent.exists():
        raise RenderError(f"{output.parent}: output folder does not exist")
    if telemetry is not None and not telemetry.parent.exists():
        raise RenderError(f"{telemetry.parent}: telemetry folder does not exist")
    if output.suffix.lower() not in (".wav", ".flac"):
        raise RenderError(f"{output}: the output must be .wav or .flac")
    if plot is not None:
        from .plot import require_matplotlib

        require_matplotlib()  # a clear error before any work, not after
        if not plot.parent.exists():
            raise RenderError(f"{plot.parent}: plot folder does not exist")
    if stems is not None and stems.exists() and not stems.is_dir():
        raise RenderError(f"--stems {stems}: exists and is not a folder")
    pairs = parse_set(overrides or [])
    files = _open_inputs(inputs)
    writers: list[_Atomic] = []
    try:
        rate = files[0].samplerate
        n_ch_files = sum(f.channels for f in files)
        engine = build_engine(scene, n_ch_files, rate, block, pairs)
        total = max(f.frames for f in files)
        main = engine.bus_rows("main")
        audio = [_AtomicAudio(output, main.stop - main.start, rate)]
        writers.append(audio[0])
        stem_rows = []
        if stems is not None:
            try:
                stems.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RenderError(f"--stems {stems}: cannot create the folder ({exc.strerror})") from None
            for bus in engine.scene.buses:
                rows = engine.bus_rows(bus.name)
                stem_rows.append(rows)
                audio.append(_AtomicAudio(stems / f"{bus.name}.wav", rows.stop - rows.start, rate))
                writers.append(audio[-1])
        tele_writer = None
        if telemetry is not None:
            tele = _AtomicCsv(telemetry, ["time_s", "ch", "name", *CHANNEL_TELEMETRY])
            writers.append(tele)
            tele_writer = tele.writer
        period = max(int(round(TELEMETRY_PERIOD_S * rate)), 1)
        metering = tele_writer is not None or plot is not None
        history: list[dict] = []  # telemetry rows kept for the plot
        names = [c.name for c in engine.scene.channels]
        host = engine.scene.block_size
        latency = engine.latency
        show = sys.stderr.isatty() if progress is None else progress
        bar = _progress(total, show)
        clock = 0        # input frames fed
        written = 0      # output frames written (after dropping the latency)
        tele_pos = 0     # frames since the last telemetry row
        tele_t = 0.0
        buf = np.zeros((engine.n_inputs, READ_FRAMES), dtype=np.float32)
        while clock < total + latency:
            chunk = min(READ_FRAMES, total + latency - clock)
            row = 0
            for path, f in zip(inputs, files):
                got = _read(path, f, chunk) if clock < total else np.zeros((0, f.channels), np.float32)
                buf[row:row + f.channels, :len(got)] = got.T
                buf[row:row + f.channels, len(got):chunk] = 0.0
                row += f.channels
            out = np.empty((engine.n_outputs, chunk), dtype=np.float32)
            start = 0
            while start < chunk:
                # host blocks, split again at the 10 ms telemetry grid (the
                # engine's output does not depend on how a block is split)
                stop = min(start + host, chunk)
                if metering:
                    stop = min(stop, start + period - tele_pos)
                engine.process(buf[:, start:stop], out[:, start:stop])
                tele_pos += stop - start
                if metering and tele_pos == period:
                    t = engine.telemetry()
                    if tele_writer is not None:
                        for ch, name in enumerate(names):
                            tele_writer.writerow([f"{tele_t:.3f}", ch + 1, name,
                                                  *(f"{t[key][ch]:.2f}" for key in CHANNEL_TELEMETRY)])
                    if plot is not None:
                        history.append({"time_s": tele_t, "automix_gain_db": t["automix_gain_db"],
                                        "talking": t["talking"], "out_db": t["bus_rms_db"][0]})
                    tele_t += period / rate
                    tele_pos = 0
                start = stop
            skip = max(0, min(chunk, latency - clock))
            keep = min(chunk - skip, total - written)
            if keep > 0:
                audio[0].write(out[main, skip:skip + keep])
                for w, rows in zip(audio[1:], stem_rows):
                    w.write(out[rows, skip:skip + keep])
                written += keep
            clock += chunk
            bar.update(min(chunk, total - min(clock - chunk, total)))
        bar.close()
        if plot is not None:
            from .plot import plot_automix

            plot_automix(history, names, plot)
        for w in writers:
            w.commit()
        writers = []
        return RenderResult(output, written, rate,
                            [stems / f"{b.name}.wav" for b in engine.scene.buses] if stems else [],
                            telemetry)
    finally:
        for w in writers:
            w.abort()
        for f in files:
            f.close()


def _read(path: Path, f: sf.SoundFile, frames: int) -> np.ndarray:
    """The next ``frames`` of an input; a decoding failure is a RenderError."""
    try:
        return f.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise RenderError(f"{path}: cannot decode past frame {f.tell()} ({exc}); "
                          "the file is damaged or truncated") from None


def _progress(total: int, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", unit_scale=True, disable=not show,
                desc="render", leave=False, file=sys.stderr)
