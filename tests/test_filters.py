"""Filter magnitude responses through the whole engine vs the RBJ cookbook.

Method: an impulse of amplitude 1 goes into the engine with every other stage
neutral (gate and compressor off, main-bus limiter off, EQ bands at 0 dB,
which are exact identities); the main-bus left output, divided by the
constant-power centre pan cos(pi/4) (-3.01 dB) and advanced by the engine's
latency, is the strip's impulse response. Its DTFT is evaluated exactly at 50
log-spaced frequencies from 20 Hz to min(20 kHz, 0.45 fs).

Oracle: Robert Bristow-Johnson's Audio EQ Cookbook defines every biquad as
the bilinear transform of an analog prototype H(s), pre-warped so that the
analog w0 lands on the digital one. The digital response at frequency f is
therefore exactly H(j * tan(pi f / fs) / tan(pi f0 / fs)); the prototypes
below are copied from the cookbook's list, not from the engine.

Tolerance: +-0.05 dB wherever the analytic response is above -80 dB. The
engine stores audio as float32 between stages (about 2^-24 relative per
sample), which puts the measurement floor near -130 dB; below -80 dB the test
only asks that the measured response be deep as well.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from signals import (
    PAN_CENTRE,
    PAN_CENTRE_DB,
    SAMPLE_RATES,
    db,
    direct,
    dtft,
    impulse,
    log_freqs,
    make_engine,
    rows,
)

TOL_DB = 0.05
FLOOR_DB = -80.0
#: Q of the two sections of a 4th-order Butterworth high-pass: 1 / (2 cos(k pi / 8)), k = 1, 3.
BUTTER4_Q = (1.0 / (2.0 * math.cos(math.pi / 8.0)), 1.0 / (2.0 * math.cos(3.0 * math.pi / 8.0)))
BUTTER2_Q = 1.0 / math.sqrt(2.0)


# -- oracle: cookbook analog prototypes at the pre-warped frequency -----------------
def rbj(kind: str, f0: float, gain_db: float, q: float, fs: float, freqs: np.ndarray) -> np.ndarray:
    """Complex response of the cookbook biquad ``kind`` at ``freqs`` (Hz)."""
    s = 1j * np.tan(np.pi * np.asarray(freqs) / fs) / math.tan(math.pi * f0 / fs)
    a = 10.0 ** (gain_db / 40.0)  # cookbook A: sqrt of the linear gain
    ra = math.sqrt(a)
    if kind == "peak":
        return (s * s + s * (a / q) + 1.0) / (s * s + s / (a * q) + 1.0)
    if kind == "low_shelf":
        return a * (s * s + (ra / q) * s + a) / (a * s * s + (ra / q) * s + 1.0)
    if kind == "high_shelf":
        return a * (a * s * s + (ra / q) * s + 1.0) / (s * s + (ra / q) * s + a)
    if kind == "notch":
        return (s * s + 1.0) / (s * s + s / q + 1.0)
    if kind == "low_pass":
        return 1.0 / (s * s + s / q + 1.0)
    if kind == "high_pass":
        return s * s / (s * s + s / q + 1.0)
    raise ValueError(kind)


def butter_hpf(f0: float, slope: int, fs: float, freqs: np.ndarray) -> np.ndarray:
    """Butterworth high-pass: one Q=1/sqrt2 section (12 dB/oct) or two (24 dB/oct)."""
    if slope == 12:
        return rbj("high_pass", f0, 0.0, BUTTER2_Q, fs, freqs)
    return rbj("high_pass", f0, 0.0, BUTTER4_Q[0], fs, freqs) * rbj("high_pass", f0, 0.0, BUTTER4_Q[1], fs, freqs)


def test_oracle_butterworth_is_minus_3db_at_corner() -> None:
    # The oracle itself: an RBJ high-pass has |H(f0)| = Q, and the two
    # 4th-order sections' Qs multiply to 1/sqrt2, so both slopes are -3.01 dB at f0.
    for slope in (12, 24):
        h = butter_hpf(1000.0, slope, 48000.0, np.array([1000.0]))
        assert abs(db(h[0]) - 20 * math.log10(BUTTER2_Q)) < 1e-9


# -- measurement ------------------------------------------------------------------------
def impulse_response(eng, fs: int, seconds: float = 1.0) -> np.ndarray:
    """Engine output (all rows) for a unit impulse into every input, latency removed."""
    n = int(seconds * fs)
    y = eng.process(rows(*[impulse(n)] * eng.n_inputs)).astype(np.float64)
    # the IR must have died out, or truncating it would bias the DTFT
    assert np.max(np.abs(y[:, -n // 4:])) < 1e-10, "impulse response still ringing after 0.75 s"
    # drop the dead tail (below 1e-13: its DTFT contribution is < 1e-8, -160 dB)
    live = np.nonzero(np.max(np.abs(y), axis=0) > 1e-13)[0]
    return y[:, eng.latency:max(int(live[-1]) + 1, eng.latency + 1)]


def assert_response(measured: np.ndarray, analytic: np.ndarray, freqs: np.ndarray, what: str) -> None:
    m_db = db(measured)
    a_db = db(analytic)
    above = a_db >= FLOOR_DB
    err = m_db - a_db
    worst = int(np.argmax(np.where(above, np.abs(err), -1.0)))
    assert np.all(np.abs(err[above]) <= TOL_DB), (
        f"{what}: {err[worst]:+.4f} dB at {freqs[worst]:.1f} Hz "
        f"(measured {m_db[worst]:.3f}, analytic {a_db[worst]:.3f} dB)")
    assert np.all(m_db[~above] <= FLOOR_DB + 1.0), f"{what}: stop band above {FLOOR_DB + 1} dB"


# -- high-pass ------------------------------------------------------------------------------
@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("slope", [12, 24])
@pytest.mark.parametrize("f0", [20.0, 80.0, 315.0, 1000.0])
def test_hpf_matches_butterworth(fs: int, slope: int, f0: float) -> None:
    # A 12 dB/oct HPF is one RBJ high-pass with Q = 1/sqrt2; 24 dB/oct is two
    # cascaded with Q = 0.5412 and 1.3066 (4th-order Butterworth). Expect the
    # analytic magnitude within +-0.05 dB at every test frequency.
    eng = make_engine(fs, 1, {"ch.1.hpf.on": True, "ch.1.hpf.freq_hz": f0,
                              "ch.1.hpf.slope_db_oct": slope})
    freqs = log_freqs(fs)
    h = impulse_response(eng, fs)[0] / PAN_CENTRE
    assert_response(dtft(h, freqs, fs), butter_hpf(f0, slope, fs, freqs), freqs,
                    f"HPF {slope} dB/oct at {f0} Hz, fs {fs}")


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("slope", [12, 24])
def test_hpf_minus_3db_at_corner_and_slope(fs: int, slope: int) -> None:
    # Butterworth: -3.01 dB at the corner; far below it the magnitude falls
    # by 12 or 24 dB per octave. Between f0/8 and f0/4 the analog magnitude
    # 10 log10(1 + (f0/f)^(2n)) is within 0.1 dB of that asymptote, and the
    # bilinear warping at f0 <= 400 Hz adds less still: allow 0.25 dB.
    f0 = 400.0
    eng = make_engine(fs, 1, {"ch.1.hpf.on": True, "ch.1.hpf.freq_hz": f0,
                              "ch.1.hpf.slope_db_oct": slope})
    h = impulse_response(eng, fs)[0] / PAN_CENTRE
    at_f0, oct_hi, oct_lo = db(dtft(h, np.array([f0, f0 / 4.0, f0 / 8.0]), fs))
    assert abs(at_f0 - (-3.0103)) <= TOL_DB, f"{at_f0:.4f} dB at the corner"
    assert abs((oct_hi - oct_lo) - slope) <= 0.25, f"{oct_hi - oct_lo:.3f} dB per octave"


# -- EQ shapes ----------------------------------------------------------------------------------
# (id, band, shape, f0 Hz, gain dB, Q). Notch, low-pass and high-pass get a
# non-zero gain too: the cookbook shapes ignore it, and so must the engine.
EQ_CASES = [
    ("peak_boost", 2, "peak", 1000.0, 9.0, 2.0),
    ("peak_cut", 3, "peak", 250.0, -12.0, 0.7),
    ("peak_narrow", 2, "peak", 6300.0, 15.0, 8.0),
    ("low_shelf_boost", 1, "low_shelf", 200.0, 6.0, 0.707),
    ("low_shelf_cut", 1, "low_shelf", 120.0, -9.0, 1.0),
    ("high_shelf_cut", 4, "high_shelf", 5000.0, -8.0, 0.707),
    ("high_shelf_boost", 4, "high_shelf", 10000.0, 6.0, 0.5),
    ("notch", 3, "notch", 1000.0, 6.0, 4.0),
    ("low_pass", 2, "low_pass", 4000.0, -6.0, 0.707),
    ("high_pass", 1, "high_pass", 300.0, 6.0, 1.5),
]


def eq_params(ch: int, band: int, shape: str, f0: float, gain: float, q: float) -> dict:
    p = f"ch.{ch}.eq.{band}."
    return {p + "type": shape, p + "freq_hz": f0, p + "gain_db": gain, p + "q": q}


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("case", EQ_CASES, ids=[c[0] for c in EQ_CASES])
def test_eq_shape_matches_rbj(fs: int, case: tuple) -> None:
    # One EQ band set to the shape, the other three at 0 dB (identity):
    # the strip's magnitude equals the cookbook biquad's within +-0.05 dB.
    _, band, shape, f0, gain, q = case
    eng = make_engine(fs, 1, eq_params(1, band, shape, f0, gain, q))
    freqs = log_freqs(fs)
    h = impulse_response(eng, fs)[0] / PAN_CENTRE
    assert_response(dtft(h, freqs, fs), rbj(shape, f0, gain, q, fs, freqs), freqs,
                    f"{shape} {f0} Hz {gain:+} dB Q {q}, fs {fs}")


@pytest.mark.parametrize("fs", SAMPLE_RATES)
def test_eq_landmark_gains(fs: int) -> None:
    # Landmarks of the cookbook shapes: a peak has exactly its gain at f0; a
    # low shelf has its gain at DC (sum of the impulse response); a high
    # shelf at Nyquist (alternating sum); a notch is a zero at f0.
    cases = [("peak", 1000.0, 7.5, 1.4, 1000.0, 7.5),
             ("low_shelf", 300.0, -10.0, 0.707, 0.0, -10.0),
             ("high_shelf", 3000.0, 11.0, 0.707, fs / 2.0, 11.0)]
    for shape, f0, gain, q, f_at, want_db in cases:
        eng = make_engine(fs, 1, eq_params(1, 2, shape, f0, gain, q))
        h = impulse_response(eng, fs)[0] / PAN_CENTRE
        got = db(dtft(h, np.array([f_at]), fs))[0]
        assert abs(got - want_db) <= TOL_DB, f"{shape}: {got:.4f} dB at {f_at} Hz, want {want_db}"
    eng = make_engine(fs, 1, eq_params(1, 2, "notch", 1000.0, 0.0, 2.0))
    h = impulse_response(eng, fs)[0] / PAN_CENTRE
    assert db(dtft(h, np.array([1000.0]), fs))[0] < -80.0, "notch does not null its centre"


@pytest.mark.parametrize("fs", SAMPLE_RATES)
def test_full_strip_is_product_of_sections(fs: int) -> None:
    # HPF 24 dB/oct plus all four EQ bands in use: the sections are in
    # series, so the magnitude is the product of the six analytic sections.
    bands = [(1, "low_shelf", 150.0, 4.0, 0.8), (2, "peak", 700.0, -6.0, 1.2),
             (3, "peak", 3000.0, 5.0, 2.5), (4, "high_shelf", 9000.0, -4.5, 0.707)]
    params = {"ch.1.hpf.on": True, "ch.1.hpf.freq_hz": 60.0, "ch.1.hpf.slope_db_oct": 24}
    analytic = butter_hpf(60.0, 24, fs, log_freqs(fs))
    freqs = log_freqs(fs)
    for band, shape, f0, gain, q in bands:
        params.update(eq_params(1, band, shape, f0, gain, q))
        analytic = analytic * rbj(shape, f0, gain, q, fs, freqs)
    eng = make_engine(fs, 1, params)
    h = impulse_response(eng, fs)[0] / PAN_CENTRE
    assert_response(dtft(h, freqs, fs), analytic, freqs, f"full strip, fs {fs}")


def test_centre_pan_is_minus_3db_each_side() -> None:
    # Constant-power centre pan: each of main L and R carries -3.01 dB, so
    # the impulse comes out as cos(pi/4) on both rows (float32 rounding).
    eng = make_engine(48000, 1)
    y = impulse_response(eng, 48000)
    assert abs(db(y[0, 0]) - PAN_CENTRE_DB) < 1e-5 and abs(db(y[1, 0]) - PAN_CENTRE_DB) < 1e-5


@pytest.mark.parametrize("fs", SAMPLE_RATES)
@pytest.mark.parametrize("n_ch", [2, 8])
def test_channels_filter_independently(fs: int, n_ch: int) -> None:
    # Each channel has its own HPF and EQ: with an impulse into every input at
    # once, each channel's direct out is its own strip's response and nothing
    # of the others (no state shared between channels).
    freqs = log_freqs(fs)
    params: dict = {}
    analytic = []
    for ch in range(1, n_ch + 1):
        shape = EQ_CASES[(ch - 1) % len(EQ_CASES)]
        _, band, kind, f0, gain, q = shape
        f0 = f0 * (1.0 + 0.1 * ch)  # every channel a different frequency
        slope = 24 if ch % 2 else 12
        hpf = 30.0 * ch
        params.update(eq_params(ch, band, kind, f0, gain, q))
        params.update({f"ch.{ch}.hpf.on": True, f"ch.{ch}.hpf.freq_hz": hpf,
                       f"ch.{ch}.hpf.slope_db_oct": slope})
        analytic.append(rbj(kind, f0, gain, q, fs, freqs) * butter_hpf(hpf, slope, fs, freqs))
    eng = make_engine(fs, n_ch, params, direct_outs=True)
    y = impulse_response(eng, fs)
    for ch in range(1, n_ch + 1):
        h = direct(eng, y, ch)  # direct outs are unpanned
        assert_response(dtft(h, freqs, fs), analytic[ch - 1], freqs, f"channel {ch} of {n_ch}, fs {fs}")
