"""Alignment delay: exact whole-sample delay, and click-free changes while audio runs.

The delay rounds ``delay_ms`` to whole samples. A change crossfades over
``layout.DELAY_XFADE_MS`` from the old tap to the new one, starting once the
new tap holds signal (a delay switched on from 0 ms has no history yet).
"""

from __future__ import annotations

import numpy as np
import pytest
from signals import noise, rows, sine, undb

from automixd.engine import Engine
from automixd.engine import layout

FS_LIST = (44100, 48000, 96000)


def _engine(fs: int, delay_ms: float = 0.0) -> Engine:
    return Engine.from_scene({
        "sample_rate": fs, "channels": 1,
        "ch": {"1": {"hpf": {"on": False}, "pan": -1.0, "delay_ms": delay_ms}},
        "bus": {"main": {"limiter": {"on": False}}},
    })


@pytest.mark.parametrize("fs", FS_LIST)
@pytest.mark.parametrize("delay_ms", [0.5, 3.0, 20.0, 499.0])
def test_delay_is_exact_in_whole_samples(fs: int, delay_ms: float) -> None:
    # Hard-left pan puts the channel at unity on the left output; the output
    # is the input moved by round(delay_ms * fs) samples plus the bus
    # look-ahead, and nothing else (bit-exact up to float32 rounding).
    eng = _engine(fs, delay_ms)
    d = int(round(delay_ms * 1e-3 * fs))
    x = noise(fs, seed=3, peak_db=-6.0)
    y = eng.process(rows(x))[0]
    lag = d + eng.latency
    np.testing.assert_allclose(y[lag:], x[:x.size - lag], atol=1e-6)
    assert np.max(np.abs(y[:lag])) == 0.0  # silence before the delayed signal


@pytest.mark.parametrize("fs", FS_LIST)
@pytest.mark.parametrize("start_ms, end_ms", [(0.0, 10.0), (10.0, 2.0), (5.0, 0.0)])
def test_delay_change_is_crossfaded(fs: int, start_ms: float, end_ms: float) -> None:
    # A 100 Hz tone: moving the tap by up to 10 ms while it plays must not
    # click. During the change the output is a crossfade of two copies of the
    # tone, so its largest sample-to-sample step stays within that of the
    # steady tone (+5 %); 60 ms after the change it is exactly the tone
    # delayed by the new amount.
    n = fs
    x = sine(100.0, n, fs, undb(-6.0))
    eng = _engine(fs, start_ms)
    half = n // 2 + 13
    y = np.concatenate([eng.process(rows(x[:half]))[0], np.zeros(0, np.float32)])
    eng.set("ch.1.delay_ms", end_ms)
    y = np.concatenate([y, eng.process(rows(x[half:]))[0]]).astype(float)
    steady = np.max(np.abs(np.diff(x.astype(float))))
    assert np.max(np.abs(np.diff(y[eng.latency + int(0.02 * fs):]))) <= 1.05 * steady
    d = int(round(end_ms * 1e-3 * fs))
    settle = half + d + int((layout.DELAY_XFADE_MS + 40.0) * 1e-3 * fs)
    lag = d + eng.latency
    np.testing.assert_allclose(y[settle:], x[settle - lag:n - lag], atol=1e-6)


@pytest.mark.parametrize("fs", FS_LIST)
@pytest.mark.parametrize("steps_ms", [(2.0, 6.0, 10.0), (10.0, 4.0), (3.0, 0.0)])
def test_delay_moved_during_a_crossfade_lands_on_the_last_value(fs: int, steps_ms) -> None:
    # A knob turned over OSC or MIDI sends a value every few ms, faster than
    # the 20 ms crossfade: the changes that arrive while one runs must not be
    # lost. 5 ms apart, each lands after the crossfade before it; the output
    # ends exactly on the last delay, without clicks on the way. Between two
    # taps of a tone of amplitude A the crossfade's step is at most the tone's
    # own (A w) plus the fade's slope times the taps' largest difference (2 A),
    # 16 % more here; a click (a jump between taps) is a hundred times that.
    n = fs
    x = sine(100.0, n, fs, undb(-6.0))
    eng = _engine(fs, 0.0)
    pos = n // 4
    y = [eng.process(rows(x[:pos]))[0]]
    for ms in steps_ms:
        eng.set("ch.1.delay_ms", ms)
        step = int(0.005 * fs)
        y.append(eng.process(rows(x[pos:pos + step]))[0])
        pos += step
    y.append(eng.process(rows(x[pos:]))[0])
    y = np.concatenate(y).astype(float)
    steady = np.max(np.abs(np.diff(x.astype(float))))
    fade = 2.0 * undb(-6.0) / (layout.DELAY_XFADE_MS * 1e-3 * fs)
    assert np.max(np.abs(np.diff(y[eng.latency + int(0.02 * fs):]))) <= 1.01 * (steady + fade)
    d = int(round(steps_ms[-1] * 1e-3 * fs))
    settle = pos + d + int((len(steps_ms) * layout.DELAY_XFADE_MS + 40.0) * 1e-3 * fs)
    lag = d + eng.latency
    np.testing.assert_allclose(y[settle:], x[settle - lag:n - lag], atol=1e-6)
