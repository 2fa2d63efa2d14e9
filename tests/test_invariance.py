"""Block-size and time invariance of the whole engine.

The engine advances smoothed parameters and redesigns filters on a fixed
grid of the sample clock, never at block boundaries, so how the host slices
the audio must not change a single output sample. Each test renders the same
2 s of multi-channel audio through a busy scene (HPF, gate, EQ, compressor,
alignment delay, pre- and post-fader sends to a mono and a stereo aux bus,
limiters working on every bus) with a fresh engine per case.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from signals import CHANNEL_COUNTS, SAMPLE_RATES, make_engine, noise, rows, run_blocks, sine, undb

BLOCK_SIZES = (1, 32, 64, 65, 256, 1024, 8193)
SECONDS = 2.0
TOL = 1e-6


def busy_params(n_ch: int) -> dict:
    """Every stage of every channel in use; the limiters have work to do."""
    p: dict = {"bus.main.limiter.ceiling_db": -6.0,
               "bus.mon.channels": 1, "bus.mon.limiter.ceiling_db": -10.0,
               "bus.fx.channels": 2, "bus.fx.eq.2.gain_db": 4.0, "bus.fx.comp.on": True,
               "bus.fx.comp.threshold_db": -25.0, "bus.main.eq.4.gain_db": -3.0}
    for ch in range(1, n_ch + 1):
        c = f"ch.{ch}."
        p.update({
            c + "hpf.on": True, c + "hpf.freq_hz": 40.0 + 20.0 * ch, c + "hpf.slope_db_oct": 24 if ch % 2 else 12,
            c + "gate.on": True, c + "gate.threshold_db": -45.0, c + "gate.hold_ms": 10.0 * ch,
            c + "gate.release_ms": 40.0,
            c + "eq.1.gain_db": 3.0, c + "eq.2.gain_db": -4.0, c + "eq.3.gain_db": 6.0, c + "eq.3.q": 2.0,
            c + "eq.4.gain_db": -2.0,
            c + "comp.on": True, c + "comp.threshold_db": -24.0, c + "comp.ratio": 3.0 + ch,
            c + "comp.attack_ms": 2.0 + ch, c + "comp.release_ms": 80.0, c + "comp.makeup_db": 4.0,
            c + "delay_ms": 0.37 * ch, c + "fader_db": 4.0 - ch, c + "pan": -0.8 + 0.2 * ch,
            c + "send.mon.level_db": -3.0 - ch, c + "send.mon.pre": bool(ch % 2),
            c + "send.fx.level_db": -8.0 + ch,
        })
    return p


@functools.lru_cache(maxsize=None)
def busy_input(fs: int, n_ch: int) -> np.ndarray:
    """Per channel: a tone and noise in bursts whose level opens and closes the
    gate, drives the compressor and, summed, the limiters; odd channels also
    fall to -70 dBFS for 0.6 s, long enough for their gates to close fully
    and snap to the floor."""
    n = int(SECONDS * fs)
    t = np.arange(n) / fs
    sigs = []
    for ch in range(n_ch):
        period = 0.35 + 0.1 * ch
        loud = (t % period) < 0.5 * period
        if ch % 2 == 0:
            loud &= (t < 0.9) | (t >= 1.5)
        env = np.where(loud, undb(-3.0 - 2.0 * ch), undb(-70.0))
        tone = sine(110.0 * (ch + 1) * 1.5 ** (ch % 3), n, fs, 1.0, phase=ch)
        sigs.append(env * (0.6 * tone + 0.4 * noise(n, seed=100 + ch, rms_db=-3.0)))
    return rows(*sigs)


def render(fs: int, n_ch: int, block: int, events: dict | None = None, x: np.ndarray | None = None) -> np.ndarray:
    eng = make_engine(fs, n_ch, busy_params(n_ch), limiter=True)
    return run_blocks(eng, busy_input(fs, n_ch) if x is None else x, block, events)


# Parameter changes at fixed sample positions (off the 64-sample control grid).
def change_events(fs: int, n_ch: int) -> dict:
    at = lambda s: int(s * fs) + 13  # noqa: E731
    last = f"ch.{n_ch}."
    return {
        at(0.20): [("ch.1.fader_db", -20.0), ("ch.1.eq.3.gain_db", -9.0)],
        at(0.35): [("ch.1.hpf.freq_hz", 300.0), (last + "pan", 0.9)],
        at(0.50): [("ch.1.delay_ms", 7.5), ("bus.main.limiter.ceiling_db", -12.0)],
        at(0.65): [(last + "comp.threshold_db", -40.0), ("ch.1.gate.threshold_db", -20.0)],
        at(0.80): [("ch.1.mute", True), (last + "send.fx.level_db", 0.0), ("ch.1.eq.2.type", "notch")],
        at(0.95): [("ch.1.mute", False), ("ch.1.hpf.slope_db_oct", 12), ("bus.fx.fader_db", -6.0)],
        at(1.10): [("ch.1.eq.on", False), ("ch.1.polarity_invert", True), ("ch.1.trim_db", 6.0)],
        at(1.25): [("ch.1.eq.on", True), ("ch.1.eq.1.freq_hz", 2000.0), ("ch.1.delay_ms", 0.0)],
        at(1.40): [("ch.1.hpf.on", False), ("bus.main.mute", True), ("ch.1.main_on", False)],
        at(1.55): [("bus.main.mute", False), ("ch.1.main_on", True), (last + "send.mon.pre", False)],
    }


def assert_same(got: np.ndarray, ref: np.ndarray, what: str) -> None:
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    assert diff.max() <= TOL, f"{what}: differs by {diff.max():.3e} at row {worst[0]}, sample {worst[1]}"


@functools.lru_cache(maxsize=None)
def reference(fs: int, n_ch: int, with_events: bool) -> np.ndarray:
    """The render in a single call over all frames."""
    frames = int(SECONDS * fs)
    return render(fs, n_ch, frames, change_events(fs, n_ch) if with_events else None)


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("n_ch", CHANNEL_COUNTS)
@pytest.mark.parametrize("block", BLOCK_SIZES)
def test_block_size_invariance(fs: int, n_ch: int, block: int) -> None:
    # Slicing the same input into blocks of `block` frames gives the same
    # output as one call over all of it, to 1e-6 (expected: bit-identical).
    ref = reference(fs, n_ch, False)
    assert np.max(np.abs(ref)) > 0.1, "scene renders silence"
    assert_same(render(fs, n_ch, block), ref, f"block {block}")


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("n_ch", CHANNEL_COUNTS)
@pytest.mark.parametrize("block", BLOCK_SIZES)
def test_parameter_changes_block_size_invariance(fs: int, n_ch: int, block: int) -> None:
    # The same parameter changes applied before the same samples (fader, EQ,
    # HPF, delay, pan, mute, sends, thresholds, switches, EQ type, polarity,
    # limiter ceiling) give the same output whatever the block size, to 1e-6.
    ref = reference(fs, n_ch, True)
    assert_same(render(fs, n_ch, block, change_events(fs, n_ch)), ref, f"block {block} with changes")


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("n_ch", CHANNEL_COUNTS)
@pytest.mark.parametrize("delay", [1, 37, 64, 1000, 4801])
def test_time_invariance(fs: int, n_ch: int, delay: int) -> None:
    # Delay-then-process equals process-then-delay (SuperCollider's filter
    # time-invariance test): the input shifted by `delay` samples, rendered
    # by a fresh engine from its first block on (256-frame blocks), is the
    # reference output shifted by the same amount, to 1e-6; what comes out
    # before the signal arrives is silence.
    x = busy_input(fs, n_ch)
    shifted = np.zeros_like(x)
    shifted[:, delay:] = x[:, :-delay]
    y = render(fs, n_ch, 256, x=shifted)
    ref = reference(fs, n_ch, False)
    assert np.all(y[:, :delay] == 0.0), "output before the input arrived"
    assert_same(y[:, delay:], ref[:, :-delay], f"input delayed by {delay}")


@pytest.mark.parametrize("fs", SAMPLE_RATES)
def test_glide_independent_of_other_channels_changes(fs: int) -> None:
    # A channel's EQ and HPF glide does not depend on when another channel's
    # controls change: channel 2's fader, pan and EQ moved between control
    # ticks (off the 64-sample grid) while channel 1 glides leave channel 1's
    # direct out the same, sample for sample.
    n = int(0.5 * fs)
    x = rows(0.5 * sine(300.0, n, fs) + noise(n, seed=7, rms_db=-20.0), noise(n, seed=8, rms_db=-12.0))
    start = int(0.05 * fs) + 5
    glide = [("ch.1.eq.2.gain_db", 9.0), ("ch.1.eq.2.freq_hz", 2000.0), ("ch.1.hpf.freq_hz", 250.0)]
    others = {start + 13 + 97 * i: [("ch.2.fader_db", -3.0 - i), ("ch.2.pan", 0.1 * (i % 5)),
                                    ("ch.2.eq.3.gain_db", float(i % 7))] for i in range(40)}
    outs = []
    for events in ({}, {start: glide}, {start: glide, **others}):
        eng = make_engine(fs, 2, {}, hpf=True, direct_outs=True)
        outs.append(run_blocks(eng, x, 256, events)[eng.bus_rows("d1")])
    still, outs = outs[0], outs[1:]
    moved = np.abs(outs[0][0, start:start + int(0.02 * fs)] - still[0, start:start + int(0.02 * fs)])
    assert moved.max() > 0.01, "channel 1's glide changed nothing in its first 20 ms"
    diff = np.abs(outs[1].astype(np.float64) - outs[0].astype(np.float64)).max()
    assert diff == 0.0, f"channel 1 moved by {diff:.3e} with channel 2's changes"
