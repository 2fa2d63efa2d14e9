"""Click-free parameter changes and recovery from corrupt input.

Gain smoothing is a per-sample one-pole with time constant
``layout.GAIN_SMOOTH_MS``: after a target change from g0 to t the gain is
g[n] = t + (g0 - t)(1 - a)^(n + 1), a = 1 - exp(-1 / (tau fs)), so no
sample-to-sample step exceeds a |t - g0| and a retarget mid-ramp continues
from wherever the gain is. Smoothed values within -100 dB (``layout.SNAP``)
of their target snap onto it on the 64-sample control grid.

Gains are read with a DC input (HPF off, EQ flat, no dynamics): the direct
out of a channel (post-fader send at 0 dB, unpanned) is then input x fader
gain, so out / in is the fader gain sample by sample, to float32 precision.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from automixd.engine import layout
from signals import (
    CHANNEL_COUNTS,
    SAMPLE_RATES,
    db,
    direct,
    make_engine,
    one_pole_coef,
    rms,
    rows,
    run_blocks,
    sine,
    undb,
)

TAU_S = layout.GAIN_SMOOTH_MS * 1e-3
SNAP = layout.SNAP
DC = 0.25
#: float32 read-out of a gain through two float32 stores (pre-fader and bus buffer)
READ_TOL = 1e-6

#: Fader targets, one per channel (0 dB before the jump); -90 is "off" (gain 0).
FADER_TARGETS = (-40.0, -20.0, -90.0, 10.0, -6.0, -60.0, 0.0, -3.0)


def fader_gain(fader_db: float) -> float:
    return 0.0 if fader_db <= -90.0 else undb(fader_db)


def one_pole_track(g0: float, targets: list[tuple[int, float]], n: int, a: float) -> np.ndarray:
    """Oracle: per-sample one-pole from g0, target changes (position, value) applied before that sample."""
    g = np.empty(n)
    cur, t = g0, g0
    changes = dict(targets)
    for i in range(n):
        t = changes.get(i, t)
        cur += a * (t - cur)
        g[i] = cur
    return g


def one_pole_error(track: np.ndarray, oracle: np.ndarray, target: float) -> np.ndarray:
    """|track - oracle| per sample, less SNAP where the oracle is within SNAP of
    ``target`` (the engine may have snapped there)."""
    err = np.abs(track - oracle)
    return np.where(np.abs(oracle - target) <= SNAP, err - SNAP, err)


def dc_gain_track(eng, n_ch: int, n: int, events: dict) -> np.ndarray:
    """Fader gain of every channel per sample (latency removed), read with a DC input."""
    x = rows(*[np.full(n, DC)] * n_ch)
    y = run_blocks(eng, x, 256, events)
    lat = eng.latency
    return np.array([direct(eng, y, ch)[lat:].astype(np.float64) / DC for ch in range(1, n_ch + 1)])


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("n_ch", CHANNEL_COUNTS)
def test_fader_jump_is_bounded_one_pole(fs: int, n_ch: int) -> None:
    # Channel k's fader jumps from 0 dB to FADER_TARGETS[k] at sample P (off
    # the control grid). Expect: (1) no per-sample step above a |dg|; (2) the
    # gain follows the one-pole oracle to float32 precision, or has snapped
    # (within -100 dB of the target); (3) within 60 ms it is within -60 dB of
    # the step from its target and stays there; (4) the channels are independent.
    p = 1000
    n = int(0.2 * fs)
    a = one_pole_coef(TAU_S, fs)
    eng = make_engine(fs, n_ch, direct_outs=True)
    events = {p: [(f"ch.{ch}.fader_db", FADER_TARGETS[ch - 1]) for ch in range(1, n_ch + 1)]}
    g = dc_gain_track(eng, n_ch, n, events)
    for ch in range(1, n_ch + 1):
        t = fader_gain(FADER_TARGETS[ch - 1])
        dg = abs(t - 1.0)
        track = g[ch - 1]
        assert np.all(np.abs(track[:p] - 1.0) <= READ_TOL), "gain moved before the change"
        steps = np.abs(np.diff(track))
        assert steps.max() <= a * dg + READ_TOL, f"ch {ch}: step {steps.max():.3e} > a|dg| = {a * dg:.3e}"
        oracle = one_pole_track(1.0, [(p, t)], track.shape[0], a)
        err = one_pole_error(track, oracle, t)
        assert err.max() <= READ_TOL, f"ch {ch}: off the one-pole by {err.max():.3e}"
        settle = p + int(0.060 * fs)
        assert np.all(np.abs(track[settle:] - t) <= 1e-3 * dg + READ_TOL), (
            f"ch {ch}: not within -60 dB of the step 60 ms after it")


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("moved", [(11,), (1, 24), (8, 9, 17)])
def test_fader_ridden_among_still_channels_glides_alone(fs: int, moved: tuple) -> None:
    # A desk of 24 channels with one or a few faders ridden (in different
    # groups of 8, at group edges, the last channel): each ridden fader
    # follows the one-pole oracle to float32 precision, as when every fader
    # moves; every other channel's gain stays exactly where it was.
    n_ch, p = 24, 1000
    n = int(0.1 * fs)
    a = one_pole_coef(TAU_S, fs)
    eng = make_engine(fs, n_ch, direct_outs=True)
    events = {p: [(f"ch.{ch}.fader_db", -20.0) for ch in moved]}
    g = dc_gain_track(eng, n_ch, n, events)
    oracle = one_pole_track(1.0, [(p, undb(-20.0))], g.shape[1], a)
    for ch in range(1, n_ch + 1):
        track = g[ch - 1]
        if ch in moved:
            err = one_pole_error(track, oracle, undb(-20.0))
            assert err.max() <= READ_TOL, f"ch {ch}: off the one-pole by {err.max():.3e}"
        else:
            assert np.all(np.abs(track - 1.0) <= READ_TOL), f"ch {ch} moved with another's fader"


@pytest.mark.parametrize("fs", SAMPLE_RATES)
def test_mute_ramps_to_silence_and_back(fs: int) -> None:
    # Mute glides the gain to 0 with steps of at most a (the one-pole's
    # largest step from unity), reaches silence once within -100 dB (about
    # 77 ms, plus up to one 64-sample control tick) where it snaps to 0, and
    # unmute glides back to unity the same way. "Silence": below -240 dB
    # (the bus EQ's 0 dB bands leave rounding residue near 1e-20, not 0).
    a = one_pole_coef(TAU_S, fs)
    on, off = 1000, 1000 + int(0.3 * fs)
    n = off + int(0.3 * fs)
    eng = make_engine(fs, 1, direct_outs=True)
    g = dc_gain_track(eng, 1, n, {on: [("ch.1.mute", True)], off: [("ch.1.mute", False)]})[0]
    assert np.abs(np.diff(g)).max() <= a + READ_TOL
    silent_from = on + int(math.ceil(TAU_S * math.log(1.0 / SNAP) * fs)) + 64 + 1
    assert np.all(np.abs(g[silent_from:off]) <= 1e-12), "muted channel not silent"
    assert np.all(g[on:on + int(0.06 * fs)] > 0.0), "mute cut instead of ramping"
    assert np.all(np.abs(g[off + int(0.06 * fs):] - 1.0) <= 1e-3 + READ_TOL), "unmute not settled in 60 ms"
    assert g[-1] == pytest.approx(1.0, abs=READ_TOL)


@pytest.mark.parametrize("fs", SAMPLE_RATES)
def test_retarget_mid_ramp_is_continuous(fs: int) -> None:
    # Fader 0 -> -40 dB, then 3 ms later (mid-ramp) -> -6 dB, then 1 ms later
    # back to 0 dB: each change continues from the current gain, so the track
    # equals the piecewise one-pole oracle and every step is bounded by
    # a |target - previous gain| (or by the -100 dB snap, SNAP = 1e-5).
    a = one_pole_coef(TAU_S, fs)
    p1 = 2000
    p2 = p1 + int(0.003 * fs)
    p3 = p2 + int(0.001 * fs)
    n = int(0.15 * fs)
    eng = make_engine(fs, 1, direct_outs=True)
    g = dc_gain_track(eng, 1, n, {p1: [("ch.1.fader_db", -40.0)], p2: [("ch.1.fader_db", -6.0)],
                                  p3: [("ch.1.fader_db", 0.0)]})[0]
    targets = [(p1, undb(-40.0)), (p2, undb(-6.0)), (p3, 1.0)]
    oracle = one_pole_track(1.0, targets, g.shape[0], a)
    live = np.abs(oracle - 1.0) > SNAP
    assert np.abs(g - oracle)[live].max() <= READ_TOL
    tgt = np.ones(g.shape[0])
    for pos, t in targets:
        tgt[pos:] = t
    steps = np.abs(np.diff(g))
    bound = np.maximum(a * np.abs(tgt[1:] - g[:-1]), SNAP) + READ_TOL
    assert np.all(steps <= bound), f"step {steps[np.argmax(steps - bound)]:.3e} above the one-pole bound"


def _max_step(y: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(y.astype(np.float64)))))


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("tone_hz", [100.0, 1000.0, 2500.0])
def test_eq_gain_jump_has_no_click(fs: int, tone_hz: float) -> None:
    # EQ band 3 (peak, 2.5 kHz, Q 1) jumps 0 -> +12 dB while a -20 dBFS tone
    # plays. The gain glides over ~20 ms, so the output's largest
    # sample-to-sample difference stays within 5 % of the larger of the two
    # steady cases (0 dB and +12 dB); a click would exceed it. Tones below,
    # near and at the band's centre.
    n = int(0.5 * fs)
    p = int(0.2 * fs) + 17
    x = rows(sine(tone_hz, n, fs, undb(-20.0)))
    win = slice(p, p + int(0.15 * fs))

    def run(gain0: float, events: dict) -> np.ndarray:
        eng = make_engine(fs, 1, {"ch.1.eq.3.gain_db": gain0}, direct_outs=True)
        return direct(eng, run_blocks(eng, x, 512, events), 1)

    jump = run(0.0, {p: [("ch.1.eq.3.gain_db", 12.0)]})
    flat = run(0.0, {})
    boosted = run(12.0, {})
    bound = max(_max_step(flat[win]), _max_step(boosted[win]))
    got = _max_step(jump[win])
    assert got <= 1.05 * bound, f"max step {got:.4e} vs steady {bound:.4e} ({got / bound:.3f}x)"
    # and the change did happen: by the end the output is the boosted one
    np.testing.assert_allclose(jump[-1000:], boosted[-1000:], atol=1e-5)


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("partner_glides", [False, True])
def test_eq_glide_keeps_the_other_band_of_its_pair(fs: int, partner_glides: bool) -> None:
    # Bands 3 and 4 are filtered in one sweep; while band 3 glides on channel 1
    # (0 -> +12 dB at 1 kHz), alone or with band 4 on channel 2 (-6 -> +6 dB at
    # 8 kHz), each channel's other band of the pair stays put: band 4 of
    # channel 1 is a static +6 dB peak at 8 kHz throughout. Read with an 8 kHz tone on channel
    # 1: its level during band 3's glide stays between the two steady cases
    # (band 3 at 0 and at +12 dB, which three octaves up differ little), and both
    # channels end on the steady output of the final settings.
    n = int(0.5 * fs)
    p = int(0.2 * fs) + 17
    x = rows(sine(8000.0, n, fs, undb(-20.0)), sine(2500.0, n, fs, undb(-20.0)))
    base = {"ch.1.eq.3.freq_hz": 1000.0}
    for ch, g in ((1, 6.0), (2, -6.0)):
        base.update({f"ch.{ch}.eq.4.type": "peak", f"ch.{ch}.eq.4.freq_hz": 8000.0, f"ch.{ch}.eq.4.q": 2.0,
                     f"ch.{ch}.eq.4.gain_db": g})
    glide = [("ch.1.eq.3.gain_db", 12.0)] + [("ch.2.eq.4.gain_db", 6.0)] * partner_glides

    def run(params: dict, events: dict) -> np.ndarray:
        eng = make_engine(fs, 2, {**base, **params}, direct_outs=True)
        y = run_blocks(eng, x, 128, events)
        return np.stack([direct(eng, y, 1), direct(eng, y, 2)])

    jump = run({}, {p: glide})
    before = run({}, {})
    after = run(dict(glide), {})
    period = int(round(fs / 8000.0 * 8))  # a whole number of 8 kHz cycles (1 ms)

    def level_db(y: np.ndarray, at: int) -> float:
        return db(rms(y[at:at + period]))

    lo = min(level_db(before[0], p), level_db(after[0], p))
    hi = max(level_db(before[0], p), level_db(after[0], p))
    assert hi - lo < 0.5  # band 3 at 1 kHz barely reaches 8 kHz
    assert lo == pytest.approx(db(undb(-20.0) / math.sqrt(2.0)) + 6.0, abs=0.25)  # band 4's +6 dB is there
    for at in range(p, p + int(0.1 * fs), period):
        assert lo - 0.02 <= level_db(jump[0], at) <= hi + 0.02, f"{(at - p) / fs * 1e3:.1f} ms into the glide"
    np.testing.assert_allclose(jump[:, -1000:], after[:, -1000:], atol=1e-5)


# -- corrupt input ---------------------------------------------------------------------------------
BAD_BURSTS = [(0.10, [math.nan]), (0.15, [math.inf]), (0.20, [-math.inf] * 3),
              (0.25, [1e30, -1e30]), (0.30, [math.nan] * 37)]  # (time s, samples)
N_BAD = sum(len(v) for _, v in BAD_BURSTS)


def _strip_params(n_ch: int) -> dict:
    params: dict = {}
    for ch in range(1, n_ch + 1):
        c = f"ch.{ch}."
        params.update({c + "hpf.on": True, c + "eq.2.gain_db": 6.0, c + "eq.4.gain_db": -4.0,
                       c + "gate.on": True, c + "gate.threshold_db": -60.0,
                       c + "comp.on": True, c + "comp.threshold_db": -30.0, c + "delay_ms": 1.5})
    return params


#: One block of 1024 frames at 48 kHz, as a time (the same duration at every rate).
RECOVERY_S = 1024 / 48000
TONE_DB = -40.0


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("n_ch", CHANNEL_COUNTS)
def test_nonfinite_input_is_dropped_and_recovers(fs: int, n_ch: int) -> None:
    # NaN, +-Inf and absurd values (1e30) in channel 1's input, with HPF, EQ,
    # delay, gate, compressor and the main limiter all active. Expect:
    # (1) every output sample finite; (2) the output identical (1e-7) to a
    #     run where the bad samples were digital silence, i.e. they are dropped;
    # (3) one block (1024 frames at 48 kHz, 21.3 ms) after each burst the
    #     output is back within -60 dB of the tone (1e-3 of its peak) of the
    #     clean run's: the hole's filter tail (slowest pole: HPF 80 Hz, 2.8 ms)
    #     has died away. The -40 dBFS tones sit below the compressor's knee and
    #     above the gate's threshold, so the dynamics stay where they were and
    #     the strip re-converges exactly (a compressor working on the tone
    #     would rightly react to the hole's filter transient and release it
    #     over its own release time, which is not a recovery failure);
    # (4) telemetry counts exactly the bad samples, on channel 1 only;
    # (5) the other channels' direct outs are untouched.
    n = int(0.5 * fs)
    clean = [sine(440.0 * (ch + 1), n, fs, undb(TONE_DB), phase=ch) for ch in range(n_ch)]
    bad = clean[0].copy()
    holed = clean[0].copy()
    mask = np.zeros(n, dtype=bool)
    for t, vals in BAD_BURSTS:
        i = int(t * fs)
        bad[i:i + len(vals)] = vals
        holed[i:i + len(vals)] = 0.0
        mask[i:i + len(vals)] = True
    params = _strip_params(n_ch)

    def run(first: np.ndarray) -> tuple:
        eng = make_engine(fs, n_ch, params, limiter=True, direct_outs=True)
        with np.errstate(invalid="ignore", over="ignore"):
            y = run_blocks(eng, rows(first, *clean[1:]), 256)
        return eng, y, eng.telemetry()

    eng, y_bad, tel = run(bad)
    _, y_holed, _ = run(holed)
    _, y_clean, _ = run(clean[0])
    assert np.all(np.isfinite(y_bad)), "non-finite output"
    np.testing.assert_allclose(y_bad, y_holed, rtol=0, atol=1e-7)
    for t, vals in BAD_BURSTS:
        end = int(t * fs) + len(vals)
        after = slice(end + int(RECOVERY_S * fs), end + int(0.045 * fs))
        diff = np.max(np.abs(y_bad[:, after] - y_clean[:, after]))
        tol = 1e-3 * undb(TONE_DB)
        assert diff <= tol, f"burst at {t} s: still {db(diff / undb(TONE_DB)):.1f} dB re tone off the clean run"
    assert tel["nonfinite"][0] == N_BAD
    assert np.all(tel["nonfinite"][1:] == 0)
    for ch in range(2, n_ch + 1):
        np.testing.assert_array_equal(direct(eng, y_bad, ch), direct(eng, y_clean, ch))
