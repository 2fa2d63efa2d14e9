"""Offline render through the real command line (``automixd render``).

Small generated WAV/FLAC files (0.5-2 s) go through the installed console
script (a subprocess, for exit codes and what a user sees on stderr) or
through ``automixd.adapters.cli.main`` in-process (faster: numba's compiled
kernels are loaded once). What is checked: the output is the main bus,
stereo, as long as the input and at its rate, latency-compensated and at the
right level; ``--set``, ``--block``, ``--stems`` and ``--telemetry`` do what
README says; every user error is one clear line and exit 1, never a
traceback; and a failed render never touches an existing output.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import automixd.engine.engine as engine_module
from automixd.adapters.cli import main

from signals import PAN_CENTRE_DB, db, noise, rms, sine, undb

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config"
AUTOMIXD = Path(sys.executable).parent / "automixd"
FS = 48000
CENTRE = math.cos(math.pi / 4.0)  # constant-power centre pan, -3.0103 dB per side


# -- helpers ---------------------------------------------------------------------------
def automixd(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    """The installed console script, as a user runs it."""
    return subprocess.run([str(AUTOMIXD), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def cli(*args: str | Path) -> tuple[int, str]:
    """``automixd`` in-process: (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main([str(a) for a in args])
    return rc, err.getvalue()


def write(path: Path, *channels: np.ndarray, fs: int = FS) -> Path:
    """Write float signals as a WAV (32-bit float) or FLAC (24-bit) file."""
    data = np.stack(channels, axis=1).astype(np.float32)
    subtype = "PCM_24" if path.suffix == ".flac" else "FLOAT"
    sf.write(str(path), data, fs, subtype=subtype)
    return path


def read(path: Path) -> tuple[np.ndarray, int]:
    data, fs = sf.read(str(path), dtype="float64", always_2d=True)
    return data, fs


def amplitude_db(x: np.ndarray) -> float:
    """Peak amplitude of a steady sine from its RMS (whole periods), in dBFS."""
    return float(db(math.sqrt(2.0) * rms(x)))


def xcorr_lag(y: np.ndarray, x: np.ndarray) -> int:
    """Lag (samples) at which y best matches x; positive = y late."""
    n = len(x)
    c = np.fft.irfft(np.fft.rfft(y, 2 * n) * np.conj(np.fft.rfft(x, 2 * n)), 2 * n)
    lag = int(np.argmax(c))
    return lag if lag < n else lag - 2 * n


def folder_snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` (hidden ones too, recursively) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_clear_error(r: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 1 with an "automixd render: ..." message (one line, or a scene's
    error list under it), no traceback."""
    assert "Traceback" not in r.stderr, f"traceback instead of a clear error:\n{r.stderr}"
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert r.stderr.startswith("automixd render: "), r.stderr
    assert len(r.stderr.splitlines()) <= 10, r.stderr
    for frag in fragments:
        assert frag in r.stderr, f"expected {frag!r} in {r.stderr!r}"


BUSY_SCENE = """\
# three channels with every stage that keeps state in use
sample_rate = 48000
block_size = 64
channels = 3
{channels}
[bus.main.limiter]
ceiling_db = -6.0
"""

BUSY_CHANNEL = """
[ch.{n}]
pan = {pan}
[ch.{n}.hpf]
freq_hz = {hpf}
slope_db_oct = {slope}
[ch.{n}.gate]
on = true
threshold_db = -40
hold_ms = 20
release_ms = 60
[ch.{n}.eq.2]
gain_db = -4
[ch.{n}.eq.3]
gain_db = 6
q = 2
[ch.{n}.comp]
on = true
threshold_db = -26
ratio = 4
attack_ms = 3
makeup_db = 4
"""


def busy_scene(folder: Path) -> Path:
    chans = "".join(BUSY_CHANNEL.format(n=n, pan=-0.5 + 0.5 * (n - 1), hpf=60 + 30 * n,
                                        slope=24 if n % 2 else 12) for n in (1, 2, 3))
    path = folder / "busy.toml"
    path.write_text(BUSY_SCENE.format(channels=chans), encoding="utf-8")
    return path


def busy_signals(n: int) -> list[np.ndarray]:
    """Tone + noise bursts at levels that open and close the gates and drive
    the compressors and the limiter."""
    t = np.arange(n) / FS
    sigs = []
    for ch in range(3):
        period = 0.23 + 0.07 * ch
        env = np.where((t % period) < 0.5 * period, undb(-4.0 - 3 * ch), undb(-70.0))
        sigs.append(env * (0.6 * sine(220.0 * (ch + 1), n, FS, phase=ch) + 0.4 * noise(n, 10 + ch, rms_db=-3.0)))
    return sigs


# -- output format and level -----------------------------------------------------------------
def test_output_is_stereo_main_bus_same_length_and_rate(tmp_path: Path) -> None:
    # A mono 0.75 s WAV at 44.1 kHz (default scene: one channel per input, at
    # the input's rate) renders to a stereo file of exactly the same number of
    # frames at 44.1 kHz; a stereo FLAC input to a .flac output likewise.
    x = sine(440.0, 33075, 44100, 0.25)
    src = write(tmp_path / "in.wav", x, fs=44100)
    rc, err = cli("render", src, "-o", tmp_path / "out.wav", "-q")
    assert rc == 0, err
    y, fs = read(tmp_path / "out.wav")
    assert fs == 44100 and y.shape == (33075, 2)
    assert sf.info(str(tmp_path / "out.wav")).subtype == "FLOAT"

    src2 = write(tmp_path / "in2.flac", x, -x, fs=44100)
    rc, err = cli("render", src2, "-o", tmp_path / "out.flac", "-q")
    assert rc == 0, err
    info = sf.info(str(tmp_path / "out.flac"))
    assert (info.format, info.channels, info.samplerate, info.frames) == ("FLAC", 2, 44100, 33075)


def test_tone_level_through_default_scene(tmp_path: Path) -> None:
    # A 1 kHz sine of peak -20 dBFS through the default one-channel scene
    # (HPF at 80 Hz, flat EQ, fader 0 dB, centre pan, limiter at -1 dB far
    # above the signal) comes out at -20 + 20 log10(cos(pi/4)) = -23.0103 dBFS
    # in each side, +-0.05 dB, measured over 0.5 s in the middle.
    x = sine(1000.0, FS, FS, undb(-20.0))
    src = write(tmp_path / "tone.wav", x)
    out = tmp_path / "out.wav"
    r = automixd("render", src, "-o", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr and "1.00 s at 48000 Hz" in r.stderr
    y, _ = read(out)
    mid = slice(FS // 4, 3 * FS // 4)  # 500 whole periods
    expected = -20.0 + PAN_CENTRE_DB
    assert expected == pytest.approx(-23.0103, abs=1e-4)
    for side in (0, 1):
        assert amplitude_db(y[mid, side]) == pytest.approx(expected, abs=0.05)
    np.testing.assert_allclose(y[:, 0], y[:, 1], atol=1e-7)  # centre: both sides equal


def test_fader_set_lowers_level_by_6_db(tmp_path: Path) -> None:
    # `--set ch.1.fader_db=-6` lowers the same tone by 6.00 dB (+-0.05) in each
    # side relative to the render without it.
    x = sine(1000.0, FS, FS, undb(-20.0))
    src = write(tmp_path / "tone.wav", x)
    rc, err = cli("render", src, "-o", tmp_path / "ref.wav", "-q")
    assert rc == 0, err
    rc, err = cli("render", src, "-o", tmp_path / "low.wav", "-q", "--set", "ch.1.fader_db=-6")
    assert rc == 0, err
    ref, _ = read(tmp_path / "ref.wav")
    low, _ = read(tmp_path / "low.wav")
    mid = slice(FS // 4, 3 * FS // 4)
    for side in (0, 1):
        assert amplitude_db(low[mid, side]) - amplitude_db(ref[mid, side]) == pytest.approx(-6.0, abs=0.05)
        assert amplitude_db(low[mid, side]) == pytest.approx(-26.0 + PAN_CENTRE_DB, abs=0.05)


def test_output_aligned_with_input(tmp_path: Path) -> None:
    # The output is latency-compensated: the limiter's look-ahead is removed,
    # so the output lines up with the input sample for sample.
    # (a) Broadband noise through the default scene: the cross-correlation of
    #     output and input peaks at lag 0 (the 80 Hz HPF delays nothing that
    #     carries the correlation).
    # (b) A 1 kHz tone with an abrupt onset at 0.1 s, HPF off (so the path is
    #     a pure gain): cross-correlation peak at lag 0, and the output is the
    #     input times cos(pi/4) to 1e-6, including silence before the onset.
    #     (With the HPF in circuit, its 6.5 degree phase lead at 1 kHz moves a
    #     tone's correlation peak to -1 sample; and a steady 1 kHz tone alone
    #     could not reveal a missing 1 ms (48-sample = one period) shift,
    #     hence the onset.)
    w = noise(FS, seed=3, rms_db=-20.0)
    write(tmp_path / "noise.wav", w)
    rc, err = cli("render", tmp_path / "noise.wav", "-o", tmp_path / "noise_out.wav", "-q")
    assert rc == 0, err
    yn, _ = read(tmp_path / "noise_out.wav")
    w32 = w.astype(np.float32).astype(np.float64)
    for side in (0, 1):
        assert xcorr_lag(yn[:, side], w32) == 0

    x = sine(1000.0, FS, FS, undb(-20.0))
    x[: FS // 10] = 0.0
    write(tmp_path / "burst.wav", x)
    rc, err = cli("render", tmp_path / "burst.wav", "-o", tmp_path / "burst_out.wav", "-q",
                  "--set", "ch.1.hpf.on=false")
    assert rc == 0, err
    y, _ = read(tmp_path / "burst_out.wav")
    x32 = x.astype(np.float32).astype(np.float64)
    for side in (0, 1):
        assert xcorr_lag(y[:, side], x32) == 0
        np.testing.assert_allclose(y[:, side], CENTRE * x32, rtol=0, atol=1e-6)


# -- block size, input order, stems ---------------------------------------------------------------
def test_block_size_does_not_change_the_render(tmp_path: Path) -> None:
    # A 3-channel FLAC through a scene with HPF (12 and 24 dB/oct), gate,
    # 4-band EQ, compressor and the main limiter all working renders to the
    # same output with --block 32, 64 and 1024, to 1e-6 per sample.
    n = FS  # 1 s
    src = write(tmp_path / "in.flac", *busy_signals(n))
    scene = busy_scene(tmp_path)
    outs = {}
    for block in (32, 64, 1024):
        out = tmp_path / f"out{block}.wav"
        rc, err = cli("render", src, "-o", out, "--scene", scene, "--block", block, "-q")
        assert rc == 0, err
        outs[block], _ = read(out)
    ref = outs[64]
    assert ref.shape == (n, 2)
    assert np.max(np.abs(ref)) > 0.1, "the scene renders (near) silence"
    for block in (32, 1024):
        diff = np.max(np.abs(outs[block] - ref))
        assert diff <= 1e-6, f"--block {block} differs from --block 64 by {diff:.3e}"


def test_two_inputs_feed_inputs_in_order(tmp_path: Path) -> None:
    # a.wav (mono) and b.flac (stereo) feed inputs 1, 2, 3 in that order.
    # Each channel has a direct out: a post-fader send at 0 dB to its own mono
    # bus dN, limiter off, HPF off, so stem dN.wav is channel N's input
    # unchanged (to 1e-6) - input 1 is a.wav, 2 and 3 are b.flac's left and right.
    n = FS // 2
    a = noise(n, 1, rms_db=-18.0)
    b_left, b_right = sine(300.0, n, FS, 0.3), noise(n, 2, rms_db=-24.0)
    write(tmp_path / "a.wav", a)
    write(tmp_path / "b.flac", b_left, b_right)
    lines = ["sample_rate = 48000", "channels = 3", "[bus.main.limiter]", "on = false"]
    for ch in (1, 2, 3):
        lines += [f"[bus.d{ch}]", "channels = 1", f"[bus.d{ch}.limiter]", "on = false",
                  f"[ch.{ch}.hpf]", "on = false", f"[ch.{ch}.send.d{ch}]", "level_db = 0"]
    scene = tmp_path / "direct.toml"
    scene.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc, err = cli("render", tmp_path / "a.wav", tmp_path / "b.flac", "-o", tmp_path / "mix.wav",
                  "--scene", scene, "--stems", tmp_path / "stems", "-q")
    assert rc == 0, err
    a_in, _ = read(tmp_path / "a.wav")
    b_in, _ = read(tmp_path / "b.flac")
    expected = {"d1": a_in[:, 0], "d2": b_in[:, 0], "d3": b_in[:, 1]}
    for bus, want in expected.items():
        got, fs = read(tmp_path / "stems" / f"{bus}.wav")
        assert fs == FS and got.shape == (n, 1), bus
        np.testing.assert_allclose(got[:, 0], want, rtol=0, atol=1e-6, err_msg=bus)


def test_stems_one_file_per_bus_podcast(tmp_path: Path) -> None:
    # The podcast scene (6 inputs: four voices from a 4-channel WAV, the music
    # bed from a stereo FLAC) with --stems DIR writes DIR/main.wav (stereo)
    # and DIR/monitor.wav (mono), nothing else, each as long as the input and
    # at 48 kHz; main.wav is the same audio as the -o output.
    n = FS // 2
    voices = [noise(n, 20 + k, rms_db=-22.0) * (np.arange(n) % 12000 < 7000) for k in range(4)]
    music = [sine(220.0, n, FS, 0.2), sine(330.0, n, FS, 0.2)]
    write(tmp_path / "voices.wav", *voices)
    write(tmp_path / "music.flac", *music)
    stems = tmp_path / "stems"
    r = automixd("render", "voices.wav", "music.flac", "-o", "mix.wav", "--scene", CONFIG / "podcast.toml",
                 "--stems", "stems", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in stems.iterdir()) == ["main.wav", "monitor.wav"]
    main_stem, fs1 = read(stems / "main.wav")
    monitor, fs2 = read(stems / "monitor.wav")
    mix, _ = read(tmp_path / "mix.wav")
    assert fs1 == fs2 == FS
    assert main_stem.shape == (n, 2) and monitor.shape == (n, 1)
    np.testing.assert_array_equal(main_stem, mix)
    assert rms(monitor) > undb(-40.0), "the monitor bus (pre-fader voice sends) is silent"


# -- telemetry ---------------------------------------------------------------------------------------
def test_telemetry_csv(tmp_path: Path) -> None:
    # --telemetry writes the documented header and then, every 10 ms, one row
    # per channel (channels 1..N in order, with their names). Times start at
    # 0 and increase by 0.010 s; a 1 s render has 100 such periods. A 1 kHz
    # sine of peak -20 dBFS on input 1 reads in_rms_db = -23.01 (+-0.1) and
    # in_peak_db = -20 (+-0.1) in every row; a -40 dBFS one on input 2 reads
    # -43.01 (+-0.1).
    x1 = sine(1000.0, FS, FS, undb(-20.0))
    x2 = sine(1000.0, FS, FS, undb(-40.0))
    write(tmp_path / "in.wav", x1, x2)
    scene = tmp_path / "two.toml"
    scene.write_text('channels = 2\n[ch.1]\nname = "Host"\n[ch.2]\nname = "Guest"\n', encoding="utf-8")
    tele = tmp_path / "meters.csv"
    rc, err = cli("render", tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--scene", scene,
                  "--telemetry", tele, "-q")
    assert rc == 0, err
    with open(tele, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == ["time_s", "ch", "name", "in_peak_db", "in_rms_db", "out_rms_db", "gate_gr_db",
                        "comp_gr_db", "automix_gain_db", "talking", "duck_gain_db"]
    rows = table[1:]
    assert len(rows) == 2 * 100
    assert [r[1] for r in rows] == ["1", "2"] * 100
    assert [r[2] for r in rows] == ["Host", "Guest"] * 100
    times = np.array([float(r[0]) for r in rows[::2]])
    assert [float(r[0]) for r in rows[1::2]] == list(times), "rows of one period share their time"
    assert times[0] == 0.0
    np.testing.assert_allclose(np.diff(times), 0.010, atol=1e-9)
    for r in rows:
        values = [float(v) for v in r[3:]]
        assert all(math.isfinite(v) for v in values)
    in_rms = {ch: np.array([float(r[4]) for r in rows if r[1] == ch]) for ch in ("1", "2")}
    in_peak = {ch: np.array([float(r[3]) for r in rows if r[1] == ch]) for ch in ("1", "2")}
    np.testing.assert_allclose(in_rms["1"], -23.0103, atol=0.1)
    np.testing.assert_allclose(in_peak["1"], -20.0, atol=0.1)
    np.testing.assert_allclose(in_rms["2"], -43.0103, atol=0.1)


# -- errors: one clear line, exit 1, no traceback, nothing written ----------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of small inputs for the error cases."""
    d = tmp_path_factory.mktemp("inputs")
    write(d / "mono48.wav", sine(1000.0, FS // 2, FS, 0.1))
    write(d / "mono44.wav", sine(1000.0, 22050, 44100, 0.1), fs=44100)
    (d / "notes.wav").write_text("these are not audio samples\n", encoding="utf-8")
    # a FLAC cut in half: it opens (the header is intact) but decoding fails
    # part-way through, after the render has started
    write(d / "whole.flac", noise(2 * FS, 5, rms_db=-12.0))
    data = (d / "whole.flac").read_bytes()
    (d / "cut.flac").write_bytes(data[: len(data) // 2])
    return d


ERROR_CASES = {
    "missing input": (["nope.wav", "-o", "out.wav"], ["nope.wav", "no such file"]),
    "not audio": (["{in}/notes.wav", "-o", "out.wav"], ["notes.wav", "not a readable audio file"]),
    "input rates differ": (["{in}/mono48.wav", "{in}/mono44.wav", "-o", "out.wav"],
                           ["48000 Hz", "44100 Hz", "mono44.wav"]),
    "scene rate differs": (["{in}/mono44.wav", "-o", "out.wav", "--scene", "{cfg}/podcast.toml"],
                           ["44100 Hz", "48000 Hz", "podcast.toml"]),
    "channel count": (["{in}/mono48.wav", "-o", "out.wav", "--scene", "{cfg}/podcast.toml"],
                      ["6 inputs", "1 channels"]),
    "set unknown path": (["{in}/mono48.wav", "-o", "out.wav", "--set", "ch.1.fader_bd=-6"],
                         ["ch.1.fader_bd", "did you mean 'ch.1.fader_db'?"]),
    "set channel beyond scene": (["{in}/mono48.wav", "-o", "out.wav", "--set", "ch.2.fader_db=-6"],
                                 ["ch.2.fader_db", "unknown parameter"]),
    "set out of range": (["{in}/mono48.wav", "-o", "out.wav", "--set", "ch.1.fader_db=40"],
                         ["ch.1.fader_db", "40", "out of range [-90, 10] dB"]),
    "set bad choice": (["{in}/mono48.wav", "-o", "out.wav", "--set", "ch.1.hpf.slope_db_oct=18"],
                       ["ch.1.hpf.slope_db_oct", "12, 24"]),
    "set without =": (["{in}/mono48.wav", "-o", "out.wav", "--set", "ch.1.fader_db"],
                      ["ch.1.fader_db", "PATH=VALUE"]),
    "output folder missing": (["{in}/mono48.wav", "-o", "no/such/dir/out.wav"],
                              ["no/such/dir", "does not exist"]),
    "output not wav/flac": (["{in}/mono48.wav", "-o", "out.mp3"], ["out.mp3", ".wav or .flac"]),
    "bad block": (["{in}/mono48.wav", "-o", "out.wav", "--block", "0"], ["--block 0", "1..8192"]),
    "broken scene": (["{in}/mono48.wav", "-o", "out.wav", "--scene", "{in}/notes.wav"],
                     ["notes.wav", "not valid TOML"]),
    "telemetry folder missing": (["{in}/mono48.wav", "-o", "out.wav", "--telemetry", "no/such/dir/m.csv"],
                                 ["no/such/dir"]),
    "stems is a file": (["{in}/mono48.wav", "-o", "out.wav", "--stems", "{in}/notes.wav"],
                        ["notes.wav"]),
    "input fails while decoding": (["{in}/cut.flac", "-o", "out.wav"], ["cut.flac"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_error_is_clear(case: str, files: Path, tmp_path: Path) -> None:
    # Each user error ends the render with exit status 1 and a message
    # "automixd render: <what is wrong, naming the file/path/value>" on
    # stderr - no traceback - and leaves no output and no temporary file.
    args, fragments = ERROR_CASES[case]
    args = [a.format(**{"in": files, "cfg": CONFIG}) for a in args]
    r = automixd("render", *args, cwd=tmp_path)
    assert_clear_error(r, *fragments)
    assert folder_snapshot(tmp_path) == {}, "a failed render left files behind"


# -- a failed render never touches an existing output ---------------------------------------------
@pytest.fixture
def previous(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """An output folder holding a previous render (mix, stems, telemetry) of
    the same 2 s input; returns the folder and its byte snapshot."""
    out = tmp_path / "out"
    out.mkdir()
    src = write(tmp_path / "in.wav", sine(500.0, 2 * FS, FS, 0.3))
    rc, err = cli("render", src, "-o", out / "mix.wav", "--stems", out / "stems",
                  "--telemetry", out / "meters.csv", "-q", "--set", "ch.1.fader_db=-10")
    assert rc == 0, err
    return out, folder_snapshot(out)


FAILING_RENDERS = {
    # fails while the engine is set up
    "bad --set": ["{src}", "--set", "ch.1.fader_db=99"],
    # the second input cannot be opened
    "unreadable second input": ["{src}", "{files}/notes.wav"],
    # the input opens, then fails to decode part-way through the render
    "input fails mid-render": ["{files}/cut.flac"],
}


@pytest.mark.parametrize("case", list(FAILING_RENDERS))
def test_failed_render_keeps_previous_output(case: str, previous, files: Path, tmp_path: Path) -> None:
    # Rendering again over mix.wav and stems/ fails; afterwards mix.wav and
    # the stems are byte-identical to before and no temporary file is left in
    # the output folders. (Subprocess: a crash, if any, is what a user gets.)
    out, before = previous
    src = tmp_path / "in.wav"
    extra = [a.format(src=src, files=files) for a in FAILING_RENDERS[case]]
    r = automixd("render", *extra, "-o", out / "mix.wav", "--stems", out / "stems", cwd=tmp_path)
    assert r.returncode != 0
    assert folder_snapshot(out) == before


def interrupt_after(monkeypatch: pytest.MonkeyPatch, frames: int) -> None:
    """Make Engine.process raise KeyboardInterrupt (Ctrl-C) once ``frames``
    frames have been processed: past the first 65536-frame chunk, so the
    temporary files already hold audio."""
    real = engine_module.Engine.process
    seen = [0]

    def process(self, block, out=None):
        seen[0] += block.shape[1]
        if seen[0] > frames:
            raise KeyboardInterrupt
        return real(self, block, out)

    monkeypatch.setattr(engine_module.Engine, "process", process)


def test_interrupted_render_keeps_previous_mix_and_stems(previous, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C 1.5 s into re-rendering the 2 s input: `automixd` exits 130 and
    # mix.wav and stems/*.wav are byte-identical to the previous render; no
    # temporary file is left in the output folders.
    out, before = previous
    interrupt_after(monkeypatch, int(1.5 * FS))
    rc, _ = cli("render", tmp_path / "in.wav", "-o", out / "mix.wav", "--stems", out / "stems", "-q")
    assert rc == 130
    assert folder_snapshot(out) == before


def test_interrupted_render_keeps_previous_telemetry(previous, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The telemetry CSV is an output too: Ctrl-C 1.5 s into a render with
    # --telemetry over an existing meters.csv leaves it byte-identical (it
    # must not be truncated or half-written), and nothing else is left behind.
    out, before = previous
    interrupt_after(monkeypatch, int(1.5 * FS))
    rc, _ = cli("render", tmp_path / "in.wav", "-o", out / "mix.wav", "--telemetry", out / "meters.csv", "-q")
    assert rc == 130
    after = folder_snapshot(out)
    assert set(after) == set(before), "files appeared or disappeared"
    assert after["mix.wav"] == before["mix.wav"]
    assert after["meters.csv"] == before["meters.csv"], (
        f"meters.csv was overwritten by the failed render: {len(before['meters.csv'])} bytes before, "
        f"{len(after['meters.csv'])} after")


def test_successful_render_replaces_output(previous, tmp_path: Path) -> None:
    # The counterpart: a render that succeeds does replace mix.wav (here with
    # the fader 10 dB higher than the previous render), leaving no temp files.
    out, before = previous
    rc, err = cli("render", tmp_path / "in.wav", "-o", out / "mix.wav", "-q")
    assert rc == 0, err
    after = folder_snapshot(out)
    assert set(after) == set(before)
    assert after["mix.wav"] != before["mix.wav"]
    y, _ = read(out / "mix.wav")
    assert amplitude_db(y[FS // 2: 3 * FS // 2, 0]) == pytest.approx(20 * math.log10(0.3) + PAN_CENTRE_DB, abs=0.05)


def test_plot_draws_a_png_of_the_automix(tmp_path: Path) -> None:
    # --plot writes a PNG (the file starts with the PNG signature) for a scene
    # with an automix group; the audio output is written as usual.
    x1 = sine(300.0, FS, FS, undb(-20.0))
    x2 = sine(500.0, FS, FS, undb(-40.0))
    write(tmp_path / "in.wav", x1, x2)
    scene = tmp_path / "am.toml"
    scene.write_text('channels = 2\n[ch.1.automix]\ngroup = 1\n[ch.2.automix]\ngroup = 1\n',
                     encoding="utf-8")
    png = tmp_path / "gains.png"
    rc, err = cli("render", tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--scene", scene,
                  "--plot", png, "-q")
    assert rc == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "out.wav").exists()


def test_plot_without_matplotlib_is_a_clear_error(tmp_path: Path) -> None:
    # matplotlib is an optional extra: without it, --plot fails at once with
    # a message saying how to install it, and writes nothing.
    blocker = tmp_path / "block" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib is not installed')\n")
    write(tmp_path / "in.wav", sine(300.0, FS // 2, FS, undb(-20.0)))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "block"))
    r = subprocess.run([str(AUTOMIXD), "render", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"),
                        "--plot", str(tmp_path / "p.png")], capture_output=True, text=True, env=env)
    assert r.returncode == 1
    assert "automixd[plot]" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out.wav").exists() and not (tmp_path / "p.png").exists()
