"""Tiles of eight channels in registers (engine/kernels/simd.py) and the filter
sections that run on them: the same samples as the scalar ``tick``, bit for
bit, for any channel count (full tiles, a masked last tile), and no write
outside the rows they own."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from automixd.engine import layout as L
from automixd.engine.kernels import simd as V
from automixd.engine.kernels import strip
from automixd.engine.kernels.dynamics import peak_hold
from automixd.engine.kernels.fastmath import amp_to_db, db_to_amp, fast_exp2, fast_log2
from automixd.engine.kernels.filters import tick

GUARD = 8
SENTINEL = -7.25


def guarded(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``values`` whose rows have sentinel columns on both sides."""
    buf = np.full(values.shape[:-1] + (values.shape[-1] + 2 * GUARD,), SENTINEL)
    buf[..., GUARD:-GUARD] = values
    return buf, buf[..., GUARD:-GUARD]


def guarded_block(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A C-contiguous copy of the 2-D ``values`` (as the work buffer is) inside sentinels."""
    buf = np.full(values.size + 2 * GUARD, SENTINEL)
    buf[GUARD:-GUARD] = values.ravel()
    return buf, buf[GUARD:-GUARD].reshape(values.shape)


def assert_guards_intact(buf: np.ndarray) -> None:
    assert np.all(buf[..., :GUARD] == SENTINEL) and np.all(buf[..., -GUARD:] == SENTINEL)


@njit(inline="always")
def _ops(x, y, s):
    m = (x >= y) | ~(x < s)
    r = V.where(m & (y != 0.25), (x + y) * s - 2.0 * x * y + max(x, y) - min(x, 0.1), abs(y - s))
    # a plain bool selects whole tiles, between tiles and numbers
    return V.where(s > 0.2, r + x / y, 1.0) - V.where(s < 0.2, x, y / 3.0) + V.where(s > 0.2, 0.5, r)


def _tile_ops(a, b, s, out, n):
    for cb in range(0, n, V.WIDTH):
        k = min(V.WIDTH, n - cb)
        V.store(out, cb, k, _ops(V.load(a, cb, k), V.load(b, cb, k), s))


def _scalar_ops(a, b, s, out, n):
    for i in range(n):
        out[i] = _ops(a[i], b[i], s)


@pytest.mark.parametrize("fastmath", [False, {"contract"}])
@pytest.mark.parametrize("n", [1, 5, 8, 9, 16, 23])
def test_lanewise_operations_match_the_scalar_ones_exactly(n, fastmath):
    """One function, compiled for tiles and for floats, gives the same bits,
    NaN, infinities (division by zero) and signed zeros included; tiles take the fast-math flags (fused
    multiply-adds or not) of the function they are compiled in."""
    tiled = njit(fastmath=fastmath, error_model="numpy")(_tile_ops)  # as the kernels are
    scalar = njit(fastmath=fastmath, error_model="numpy")(_scalar_ops)
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    a[::4], b[1::5], b[2::6] = np.nan, 0.25, -0.0
    for s in (0.3, 0.1):
        buf, out = guarded(np.zeros(n))
        want = np.zeros(n)
        tiled(a, b, s, out, n)
        scalar(a, b, s, want, n)
        assert np.array_equal(out, want, equal_nan=True)
        assert np.array_equal(np.signbit(out), np.signbit(want))
        assert_guards_intact(buf)


@njit(cache=False, fastmath={"contract"})
def _svf2_scalar(w, co1, st1, d1, co2, st2, d2):
    """Two sections per channel with scalar ticks; coefficients step by ``d`` first."""
    for n in range(w.shape[0]):
        co1 += d1
        co2 += d2
        for c in range(w.shape[1]):
            x, st1[0, c], st1[1, c] = tick(w[n, c], co1[0, c], co1[1, c], co1[2, c], co1[3, c], co1[4, c],
                                           co1[5, c], st1[0, c], st1[1, c])
            w[n, c], st2[0, c], st2[1, c] = tick(x, co2[0, c], co2[1, c], co2[2, c], co2[3, c], co2[4, c],
                                                 co2[5, c], st2[0, c], st2[1, c])


def _sections(rng, n_ch):
    """Coefficient rows of two sections (a bell and a high-pass), varied per channel."""
    from automixd.engine.kernels.filters import HIGH_PASS, PEAK, design

    co1, co2 = np.empty((6, n_ch)), np.empty((6, n_ch))
    tmp = np.empty(6)
    for c in range(n_ch):
        design(PEAK, 200.0 + 300.0 * c, rng.uniform(-12, 12), rng.uniform(0.5, 4), 48000.0, tmp, 0)
        co1[:, c] = tmp
        design(HIGH_PASS, 40.0 + 10.0 * c, 0.0, 0.7071, 48000.0, tmp, 0)
        co2[:, c] = tmp
    return co1, co2


# rows of the state array the tests hand the kernels (as the strip's S)
KA, KB, ZA, ZB, DA, DB, N_ROWS = 0, 6, 12, 14, 16, 22, 29  # the last row is never touched


def _state(co1, co2, d1, d2):
    S = np.full((N_ROWS, co1.shape[1]), SENTINEL)
    S[KA:KA + 6], S[KB:KB + 6], S[ZA:ZB + 2] = co1, co2, 0.0
    S[DA:DA + 6], S[DB:DB + 6] = d1, d2
    return guarded_block(S)


@pytest.mark.parametrize("n_ch", [1, 3, 8, 9, 16, 17, 24, 64])
def test_two_sections_on_tiles_equal_scalar_ticks(n_ch):
    rng = np.random.default_rng(n_ch)
    co1, co2 = _sections(rng, n_ch)
    x = rng.standard_normal((128, n_ch))
    zero = np.zeros_like(co1)
    ref_w, ref_s1, ref_s2 = x.copy(), np.zeros((2, n_ch)), np.zeros((2, n_ch))
    _svf2_scalar(ref_w, co1.copy(), ref_s1, zero, co2.copy(), ref_s2, zero)
    wbuf, w = guarded_block(x)
    sbuf, S = _state(co1, co2, zero, zero)
    before = S.copy()
    for n0, n1 in ((0, 64), (64, 100), (100, 128)):  # segments as the engine's control ticks split them
        strip._svf2(w, S, KA, ZA, KB, ZB, n0, n1)
    np.testing.assert_array_equal(w, ref_w)
    np.testing.assert_array_equal(S[ZA:ZB + 2], np.vstack([ref_s1, ref_s2]))
    untouched = np.r_[KA:KB + 6, DA:N_ROWS]  # coefficients are only read
    np.testing.assert_array_equal(S[untouched], before[untouched])
    assert_guards_intact(wbuf)
    assert_guards_intact(sbuf)


@pytest.mark.parametrize("n_ch", [1, 8, 13, 64])
@pytest.mark.parametrize("ramp_a, ramp_b", [(True, False), (False, True), (True, True)])
def test_gliding_sections_step_every_sample(n_ch, ramp_a, ramp_b):
    """A gliding section adds its increments every sample, then ticks; a
    section that holds still keeps its coefficients (its increments are not
    even read)."""
    rng = np.random.default_rng(n_ch + 10 * ramp_a + 20 * ramp_b)
    co1, co1_to = _sections(rng, n_ch)
    co2, co2_to = _sections(rng, n_ch)
    d1 = (co1_to - co1) / 128.0 if ramp_a else np.zeros_like(co1)
    d2 = (co2_to - co2) / 128.0 if ramp_b else np.zeros_like(co2)
    x = rng.standard_normal((128, n_ch))
    ref_w, ref_c1, ref_c2 = x.copy(), co1.copy(), co2.copy()
    ref_s1, ref_s2 = np.zeros((2, n_ch)), np.zeros((2, n_ch))
    _svf2_scalar(ref_w, ref_c1, ref_s1, d1, ref_c2, ref_s2, d2)
    wbuf, w = guarded_block(x)
    # a still section's increments are garbage that must not be used
    sbuf, S = _state(co1, co2, d1 if ramp_a else np.full_like(d1, np.nan),
                     d2 if ramp_b else np.full_like(d2, np.nan))
    before = S.copy()
    for n0, n1 in ((0, 64), (64, 128)):
        strip._svf2_ramp(w, S, KA, DA, ZA, KB, DB, ZB, n0, n1, ramp_a, ramp_b)
    np.testing.assert_array_equal(w, ref_w)
    np.testing.assert_array_equal(S[ZA:ZB + 2], np.vstack([ref_s1, ref_s2]))
    np.testing.assert_array_equal(S[KA:KA + 6], ref_c1)
    np.testing.assert_array_equal(S[KB:KB + 6], ref_c2)
    assert np.array_equal(S[DA:], before[DA:], equal_nan=True)  # increments are only read
    assert_guards_intact(wbuf)
    assert_guards_intact(sbuf)


def test_no_glide_is_the_still_path():
    rng = np.random.default_rng(5)
    n_ch = 19
    co1, co2 = _sections(rng, n_ch)
    x = rng.standard_normal((64, n_ch))
    zero = np.zeros_like(co1)
    still, ramp = x.copy(), x.copy()
    _, S_still = _state(co1, co2, zero, zero)
    _, S_ramp = _state(co1, co2, zero, zero)
    strip._svf2(still, S_still, KA, ZA, KB, ZB, 0, 64)
    strip._svf2_ramp(ramp, S_ramp, KA, DA, ZA, KB, DB, ZB, 0, 64, False, False)
    np.testing.assert_array_equal(ramp, still)
    np.testing.assert_array_equal(S_ramp, S_still)


def test_a_tile_refuses_a_strided_row():
    @njit(cache=False)
    def load_column(a):
        return V.load(a[:, 0], 0, 8)

    with pytest.raises(Exception, match="contiguous float64 row"):
        load_column(np.zeros((8, 8)))


@njit(inline="always")
def _dynamics(x, y):
    lvl, count, since = peak_hold(abs(x), abs(y), 3.0 * y, 40.0 * abs(x), 96.0, 2400.0, 0.98, 0.05)
    return amp_to_db(abs(x)) + db_to_amp(y * 30.0) + fast_log2(abs(y) + 1e-3) * fast_exp2(x * 9.0) \
        + lvl + count + since


def _dynamics_tiles(a, b, out):
    for cb in range(0, a.shape[0], V.WIDTH):
        k = min(V.WIDTH, a.shape[0] - cb)
        V.store(out, cb, k, _dynamics(V.load(a, cb, k), V.load(b, cb, k)))


def _dynamics_floats(a, b, out):
    for i in range(a.shape[0]):
        out[i] = _dynamics(a[i], b[i])


def test_detector_and_db_conversions_are_the_same_on_tiles():
    """The peak detector and the bit-trick log2 / exp2 (dB) give the tiled
    gate and compressor the same bits as the scalar forms, over levels from
    silence to beyond full scale and exponents that clamp."""
    rng = np.random.default_rng(9)
    a = np.concatenate([rng.standard_normal(200) * 10.0 ** rng.uniform(-12, 2, 200), [0.0, -0.0, 1.0, 200.0]])
    b = np.concatenate([rng.uniform(-40.0, 40.0, 200), [0.0, 1.0, -0.5, 0.5]])
    tiled, floats = np.zeros_like(a), np.zeros_like(a)
    njit(fastmath={"contract"})(_dynamics_tiles)(a, b, tiled)
    njit(fastmath={"contract"})(_dynamics_floats)(a, b, floats)
    assert np.isfinite(floats).all()
    np.testing.assert_array_equal(tiled, floats)


@njit(fastmath={"contract"})
def _comp_scalar(w, lvl, dhc, since, gr, m_gr, on, thr, slope, knee, inv2w, att, rel, makeup, det):
    """The compressor one channel and one sample at a time, in floats."""
    for c in range(w.shape[1]):
        for n in range(w.shape[0]):
            x = w[n, c]
            lvl[c], dhc[c], since[c] = peak_hold(abs(x), lvl[c], dhc[c], since[c], det[0], det[1],
                                                 L.DET_REFRESH, det[2])
            over = amp_to_db(lvl[c]) - thr[c]
            t = over + 0.5 * knee[c]
            want = slope[c] * on[c] * (over if over >= 0.5 * knee[c] else t * t * inv2w[c])
            want = want if t > 0.0 else 0.0
            d = want - gr[c]
            gr[c] = want if abs(d) < 1e-6 else gr[c] + (att[c] if d > 0.0 else rel[c]) * d
            m_gr[c] = max(m_gr[c], gr[c])
            w[n, c] = x * db_to_amp(makeup[c] - gr[c])


_COMP_ROWS = (L.C_C_LVL, L.C_C_DHC, L.C_C_SINCE, L.C_C_GR, L.C_M_COMP_GR, L.C_C_ON, L.C_C_THR,
              L.C_C_SLOPE, L.C_C_KNEE, L.C_C_INV2W, L.C_C_ATT, L.C_C_REL, L.C_C_MAKEUP)


@pytest.mark.parametrize("n_ch", [1, 5, 8, 13, 32, 40, 64])
def test_compressor_on_tiles_equals_scalar_samples(n_ch):
    """Four tiles side by side, single tiles and a masked last tile give each
    channel the samples and state of the scalar compressor, and write nothing
    else; channels differ in threshold, ratio, knee (0 is a hard knee), time
    constants, make-up and on/off, and the signal runs from silence to +20 dBFS."""
    rng = np.random.default_rng(40 + n_ch)
    S = np.full((L.N_CH_STATE, n_ch), SENTINEL)
    ratio = rng.uniform(1.0, 20.0, n_ch)
    knee = np.where(rng.uniform(size=n_ch) < 0.3, 0.0, rng.uniform(0.0, 12.0, n_ch))
    init = {L.C_C_LVL: 0.0, L.C_C_DHC: 0.0, L.C_C_SINCE: 0.0, L.C_C_GR: rng.uniform(0, 6, n_ch),
            L.C_M_COMP_GR: 0.0, L.C_C_ON: (rng.uniform(size=n_ch) < 0.8).astype(float),
            L.C_C_THR: rng.uniform(-50.0, 0.0, n_ch), L.C_C_SLOPE: 1.0 - 1.0 / ratio, L.C_C_KNEE: knee,
            L.C_C_INV2W: np.where(knee > 0.0, 1.0 / (2.0 * np.maximum(knee, 1e-9)), 0.0),
            L.C_C_ATT: rng.uniform(1e-4, 0.05, n_ch), L.C_C_REL: rng.uniform(1e-5, 0.01, n_ch),
            L.C_C_MAKEUP: rng.uniform(-3.0, 12.0, n_ch)}
    for row, value in init.items():
        S[row] = value
    # one channel surely compresses: ratio 4, fast attack
    S[L.C_C_ON, 0], S[L.C_C_THR, 0], S[L.C_C_SLOPE, 0], S[L.C_C_ATT, 0] = 1.0, -40.0, 0.75, 0.05
    sbuf, S = guarded_block(S)
    level = 10.0 ** (rng.uniform(-6.0, 1.0, (1, n_ch)) * np.linspace(1.0, 0.2, 192)[:, None])
    level[:, 0] = 0.5
    x = rng.standard_normal((192, n_ch)) * level
    x[:20] = 0.0
    det = (96.0, 2400.0, 0.04)
    ref_w, ref = x.copy(), [S[r].copy() for r in _COMP_ROWS]
    _comp_scalar(ref_w, *ref, det)
    wbuf, w = guarded_block(x)
    before = S.copy()
    for n0, n1 in ((0, 64), (64, 100), (100, 192)):
        strip.comp_pass(w, S, n0, n1, det)
    np.testing.assert_array_equal(w, ref_w)
    for r, expected in zip(_COMP_ROWS, ref):
        np.testing.assert_array_equal(S[r], expected)
    others = np.setdiff1d(np.arange(L.N_CH_STATE), _COMP_ROWS)
    np.testing.assert_array_equal(S[others], before[others])
    assert_guards_intact(wbuf)
    assert_guards_intact(sbuf)
    assert S[L.C_C_GR, 0] > 10.0  # the test signal did drive the compressor


@njit
def _input_scalar(x, gin, gin_t, m_peak, m_sq, m_bad, a_gain):
    for c in range(x.shape[1]):
        for n in range(x.shape[0]):
            v = x[n, c]
            bad = not abs(v) <= strip.INPUT_LIMIT
            v = 0.0 if bad else v
            m_bad[c] += 1.0 if bad else 0.0
            m_peak[c] = max(m_peak[c], abs(v))
            m_sq[c] += v * v
            gin[c] = gin[c] + a_gain * (gin_t[c] - gin[c])
            x[n, c] = v * gin[c]


@pytest.mark.parametrize("n_ch", [1, 5, 8, 13, 40, 64])
def test_input_pass_on_tiles_equals_scalar_samples(n_ch):
    """Sanitising, metering and the trim glide on tiles give every channel the
    scalar samples and meters: NaN, Inf and absurd values dropped and counted,
    trims gliding (a polarity flip through 0) or still, channels without an input silent."""
    rng = np.random.default_rng(70 + n_ch)
    inp = (rng.standard_normal((n_ch + 1, 160)) * 0.3).astype(np.float32)
    inp[rng.integers(0, n_ch + 1, 12), rng.integers(0, 160, 12)] = rng.choice(
        [np.nan, np.inf, -np.inf, 3e4], 12)
    ch_in = rng.permutation(n_ch + 1)[:n_ch].astype(np.int64)
    ch_in[-1] = -1 if n_ch > 1 else ch_in[-1]
    rows = np.vstack([rng.uniform(-2.0, 2.0, n_ch), np.where(rng.uniform(size=n_ch) < 0.5, -1.0, 1.0),
                      np.zeros((3, n_ch))])
    expected = np.stack([inp[max(i, 0)] if i >= 0 else np.zeros(160, np.float32) for i in ch_in], 1)
    expected = expected.astype(np.float64)
    ref = rows.copy()
    _input_scalar(expected, *ref, 0.01)
    sbuf, S = guarded_block(rows)
    wbuf, w = guarded_block(np.zeros((64, n_ch)))
    got = np.zeros((160, n_ch))
    for n0, n1 in ((0, 64), (64, 100), (100, 160)):
        strip._input(inp, ch_in, S[0], S[1], S[2], S[3], S[4], w, 0, n1 - n0, 0.01, n0)
        got[n0:n1] = w[:n1 - n0]
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(S, ref)
    assert_guards_intact(sbuf)
    assert_guards_intact(wbuf)
    assert S[4].sum() >= 1  # some bad samples were seen and counted


@pytest.mark.parametrize("n_ch", [1, 8, 13, 64])
@pytest.mark.parametrize("use_am, keep", [(False, False), (True, True)])
def test_settled_fader_and_pan_take_constant_gains_bit_for_bit(n_ch, use_am, keep):
    """A tile whose gains have settled skips their glide; at rest that gives the
    gliding path's samples and meters bit for bit, and leaves the gains as they were."""
    rng = np.random.default_rng(90 + n_ch)
    w = rng.standard_normal((64, n_ch))
    amg = rng.uniform(0.0, 1.0, (64, n_ch))
    S0 = np.zeros((L.N_CH_STATE, n_ch))
    for r in (L.C_GF, L.C_MAIN, L.C_PL, L.C_PR):
        S0[r] = S0[r + 1] = rng.uniform(0.0, 2.0, n_ch)
    S0[L.C_M_OUT_PEAK], S0[L.C_M_OUT_SQ] = 0.125, 0.5
    results = []
    for glide in (False, True):
        sbuf, S = guarded_block(S0)
        bufs = [guarded_block(np.full((64, n_ch), SENTINEL)) for _ in range(5)]
        post, left, right, pan_l, pan_r = (b[1] for b in bufs)
        for cb in range(0, n_ch, V.WIDTH):
            strip._fader_pan(w, amg, use_am, post, left, right, pan_l, pan_r, S, 0, 64, cb,
                             min(V.WIDTH, n_ch - cb), 0.01, glide, keep, keep)
        for buf, _ in bufs + [(sbuf, S)]:
            assert_guards_intact(buf)
        np.testing.assert_array_equal(np.delete(S, [L.C_M_OUT_PEAK, L.C_M_OUT_SQ], 0),
                                      np.delete(S0, [L.C_M_OUT_PEAK, L.C_M_OUT_SQ], 0))
        results.append([left, right, S[L.C_M_OUT_PEAK], S[L.C_M_OUT_SQ]] + ([post, pan_l, pan_r] if keep else []))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert np.all(results[0][3] > 0.5)  # the power meter took the signal
