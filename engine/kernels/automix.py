"""The automixer: Dugan gain sharing per group, measured on the summed signal.

Each member i of a group gets

    g_i = min(1, (e_i / e_sum) ** slope),  e_i = env(w_i x_i),  e_sum = env(sum_j a_j w_j x_j)

where x is the channel after its EQ and before its compressor, w_i the
weight, a_j the member's "auto" fraction (1 in auto mode, fading to 0 in
manual or mute), and env an RMS detector (power one-pole with attack and
release). Normalising by the level of the *actual summed signal* (the
patent's "input summing means") rather than by the sum of the channel levels
is what gives -10 log10 N at rest with constant ambience, -6 dB for one
talker heard equally on two mics (no +3 dB bump) and the 2 Hz beat of the
D-3 bench test (automixer.md sections 1-3). The "incoherent" option uses the
power sum of the members instead. The gain is applied after the compressor
and before the fader, and glides with ``gain_ms``; a mode change crossfades
the auto share, unity (manual) and silence (mute) over ``mode_fade_ms``.

Everything runs per sample in a fixed order, so the gains do not depend on
the host's block size.
"""

from __future__ import annotations

import math

from numba import njit

from .. import layout as L
from ..params import AUTOMIX_SLOT, CH_SLOT, N_AUTOMIX_GROUPS, N_AUTOMIX_PARAMS
from .fastmath import fast_exp2, fast_log2
from .smoothing import one_pole_coef

P_GROUP = CH_SLOT["automix.group"]
P_MODE = CH_SLOT["automix.mode"]
P_WEIGHT = CH_SLOT["automix.weight_db"]
P_CHAIR = CH_SLOT["automix.chair"]
P_DK_GROUP = CH_SLOT["duck.group"]
P_DK_DEPTH = CH_SLOT["duck.depth_db"]
P_DK_THR = CH_SLOT["duck.threshold_db"]
P_DK_ATT = CH_SLOT["duck.attack_ms"]
P_DK_HOLD = CH_SLOT["duck.hold_ms"]
P_DK_REL = CH_SLOT["duck.release_ms"]
PA_ON = AUTOMIX_SLOT["on"]
PA_SUM = AUTOMIX_SLOT["sum"]
PA_SLOPE = AUTOMIX_SLOT["slope"]
PA_ATT = AUTOMIX_SLOT["detector_attack_ms"]
PA_REL = AUTOMIX_SLOT["detector_release_ms"]
PA_GAIN = AUTOMIX_SLOT["gain_ms"]
PA_FADE = AUTOMIX_SLOT["mode_fade_ms"]
PA_TALK = AUTOMIX_SLOT["talk_threshold_db"]
PA_OVR = AUTOMIX_SLOT["override"]
PA_OVR_DEPTH = AUTOMIX_SLOT["override_depth_db"]
PA_HOLD = AUTOMIX_SLOT["last_mic_hold"]
PA_NOM = AUTOMIX_SLOT["nom_limit"]
#: Last-mic hold (Dugan Music System): a channel becomes the last talker when
#: its share stays above -3 dB for half a second.
HOLD_SHARE = 0.7079457843841379  # -3 dB
HOLD_S = 0.5
#: The ducking key follows the group's voices quickly; the ducker's hold
#: bridges the gaps between words.
KEY_ATTACK_MS = 5.0
KEY_RELEASE_MS = 50.0
MODE_AUTO, MODE_MANUAL, MODE_MUTE = 0, 1, 2
#: Detector floor: -120 dBFS of power, so digital silence divides cleanly.
POWER_FLOOR = 1e-12


@njit(cache=True, nogil=True, error_model="numpy")
def automix_tick(par, ch_par_stride, am_par, S, am, fs, fresh) -> None:
    """Derive every channel's and group's automix constants from the targets.

    Parameters
    ----------
    par : float64[:]
        All parameter targets; channel ``c``'s block starts at ``c * ch_par_stride``.
    am_par : float64[:]
        The automix groups' parameter targets.
    """
    if fresh == 0:
        return
    for g in range(N_AUTOMIX_GROUPS):
        q = am_par[g * N_AUTOMIX_PARAMS:(g + 1) * N_AUTOMIX_PARAMS]
        am[g, L.AM_ATT] = one_pole_coef(q[PA_ATT], fs)
        am[g, L.AM_REL] = one_pole_coef(q[PA_REL], fs)
        am[g, L.AM_INCOH] = q[PA_SUM]
        am[g, L.AM_ACTIVE] = 0.0
        am[g, L.AM_KEY] = 0.0
        am[g, L.AM_KATT] = one_pole_coef(KEY_ATTACK_MS, fs)
        am[g, L.AM_KREL] = one_pole_coef(KEY_RELEASE_MS, fs)
        am[g, L.AM_HOLD] = q[PA_HOLD]
        am[g, L.AM_NOM_LIMIT] = q[PA_NOM]
        am[g, L.AM_HOLD_N] = HOLD_S * fs
        if fresh < 0:
            am[g, L.AM_PS] = 0.0
            am[g, L.AM_LAST] = -1.0
    for c in range(S.shape[1]):
        p = par[c * ch_par_stride:(c + 1) * ch_par_stride]
        g = int(p[P_GROUP]) - 1
        if g >= 0 and am_par[g * N_AUTOMIX_PARAMS + PA_ON] < 0.5:
            g = -1  # a group that is off leaves its members at unity
        S[L.C_AM_GRP, c] = float(g)
        S[L.C_AM_W, c] = 10.0 ** (p[P_WEIGHT] * 0.05)
        dk = int(p[P_DK_GROUP]) - 1
        S[L.C_DK_GRP, c] = float(dk)
        S[L.C_DK_DEPTH, c] = 10.0 ** (p[P_DK_DEPTH] * 0.05)
        S[L.C_DK_THR, c] = 10.0 ** (p[P_DK_THR] * 0.1)
        S[L.C_DK_ATT, c] = one_pole_coef(p[P_DK_ATT], fs)
        S[L.C_DK_REL, c] = one_pole_coef(p[P_DK_REL], fs)
        S[L.C_DK_HOLD_N, c] = p[P_DK_HOLD] * 1e-3 * fs
        if dk >= 0:
            am[dk, L.AM_KEY] = 1.0  # the group's control level is needed as a key
        mode = int(p[P_MODE])
        if g < 0:
            fa, fm = 0.0, 1.0
        elif am_par[g * N_AUTOMIX_PARAMS + PA_OVR] >= 0.5 and mode != MODE_MUTE:
            # chair override: chairs to full, the rest down to the override depth
            am[g, L.AM_ACTIVE] = 1.0
            fa = 0.0
            depth = am_par[g * N_AUTOMIX_PARAMS + PA_OVR_DEPTH]
            fm = 1.0 if p[P_CHAIR] >= 0.5 else (0.0 if depth <= -90.0 else 10.0 ** (depth * 0.05))
        else:
            am[g, L.AM_ACTIVE] = 1.0
            fa = 1.0 if mode == MODE_AUTO else 0.0
            fm = 1.0 if mode == MODE_MANUAL else 0.0
        S[L.C_AM_FA_T, c] = fa
        S[L.C_AM_FM_T, c] = fm
        q = am_par[max(g, 0) * N_AUTOMIX_PARAMS:(max(g, 0) + 1) * N_AUTOMIX_PARAMS]
        fade = q[PA_FADE] * 1e-3 * fs
        S[L.C_AM_FSTEP, c] = 1.0 / fade if fade >= 1.0 else 1.0
        S[L.C_AM_ATT, c] = one_pole_coef(q[PA_ATT], fs)
        S[L.C_AM_REL, c] = one_pole_coef(q[PA_REL], fs)
        S[L.C_AM_SM, c] = one_pole_coef(q[PA_GAIN], fs)
        S[L.C_AM_SLOPE, c] = q[PA_SLOPE]
        # talking when the share (slope * 10 log10 of the power ratio) is above
        # the threshold: compare the power ratio itself, no logarithm per sample
        S[L.C_AM_TALK, c] = 10.0 ** (q[PA_TALK] / (10.0 * q[PA_SLOPE]))
        if fresh < 0:
            S[L.C_AM_FA, c] = fa
            S[L.C_AM_FM, c] = fm
            S[L.C_AM_G, c] = fm
            S[L.C_AM_SHARE, c] = 1.0
            S[L.C_AM_P, c] = 0.0
            S[L.C_AM_UP, c] = 0.0
            S[L.C_DK_G, c] = 1.0
            S[L.C_DK_HOLDC, c] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def automix_needed(S) -> bool:
    """True while any channel is a member of an active group or its gain still moves."""
    for c in range(S.shape[1]):
        if (S[L.C_AM_GRP, c] >= 0.0 or S[L.C_AM_G, c] != 1.0 or S[L.C_AM_FM, c] != 1.0
                or S[L.C_DK_GRP, c] >= 0.0 or S[L.C_DK_G, c] != 1.0):
            return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def automix_pass(det, S, am, gain, u, n0, n1) -> None:
    """Automix gains of every channel for rows ``n0..n1`` into ``gain``.

    Parameters
    ----------
    det : float64[frames, channels]
        The detection signal (post-EQ, pre-compressor).
    gain : float64[frames, channels]
        Output: the gain to apply to each channel's post-compressor signal.
    u : float64[frames, channels]
        Scratch: weighted, mode-faded detection signal.
    """
    unit_slope = True
    ducking = False
    for c in range(det.shape[1]):
        unit_slope = unit_slope and (S[L.C_AM_GRP, c] < 0.0 or S[L.C_AM_SLOPE, c] == 1.0)
        ducking = ducking or S[L.C_DK_GRP, c] >= 0.0 or S[L.C_DK_G, c] != 1.0
    _rows(det, u, gain, am, n0, n1, unit_slope, S[L.C_AM_W], S[L.C_AM_FA], S[L.C_AM_P],
          S[L.C_AM_ATT], S[L.C_AM_REL], S[L.C_AM_GRP], S[L.C_AM_GP], S[L.C_AM_SLOPE],
          S[L.C_AM_SHARE], S[L.C_AM_FA_T], S[L.C_AM_FM], S[L.C_AM_FM_T], S[L.C_AM_FSTEP],
          S[L.C_AM_G], S[L.C_AM_SM], S[L.C_AM_TALK], S[L.C_AM_UP], S[L.C_M_AM_G2],
          S[L.C_M_AM_N], S[L.C_M_AM_TALK], ducking, S[L.C_DK_GRP], S[L.C_DK_DEPTH], S[L.C_DK_THR],
          S[L.C_DK_ATT], S[L.C_DK_REL], S[L.C_DK_HOLD_N], S[L.C_DK_HOLDC], S[L.C_DK_G],
          S[L.C_M_DK_G2], S[L.C_M_DK_N])



# One function holds the whole per-sample sequence with every state row as its
# own argument: calls per sample with twenty array arguments cost more than
# the arithmetic, and separate arguments let LLVM vectorise the channel loops.
@njit(cache=True, nogil=True, error_model="numpy")
def _rows(det, u, gain, am, n0, n1, unit_slope, w, fa, p, att, rel, grp, gp, slope, share,
          fa_t, fm, fm_t, fstep, g, sm, talk_ratio, up, m_g2, m_n, m_talk, ducking, dk_grp,
          dk_depth, dk_thr, dk_att, dk_rel, dk_hold_n, dk_holdc, dk_g, m_dk_g2, m_dk_n) -> None:
    n_ch = det.shape[1]
    n_groups = am.shape[0]
    # last-mic hold and NOM limits need a look across each group every sample
    group_rules = False
    for k in range(n_groups):
        group_rules = group_rules or (am[k, L.AM_ACTIVE] != 0.0 and (
            am[k, L.AM_HOLD] >= 0.5 or am[k, L.AM_NOM_LIMIT] > 0.0))
    for n in range(n0, n1):
        # weighted, mode-faded detection and its RMS detector
        for c in range(n_ch):
            x = det[n, c] * w[c] * fa[c]
            u[n, c] = x
            x2 = x * x
            pc = p[c]
            p[c] = pc + (att[c] if x2 > pc else rel[c]) * (x2 - pc)
        # each group's control level: of the summed signal, or the power sum
        for k in range(am.shape[0]):
            if am[k, L.AM_ACTIVE] == 0.0 and am[k, L.AM_KEY] == 0.0:
                continue
            s = _group_sum(u[n], grp, float(k))
            s2 = s * s
            if am[k, L.AM_INCOH] >= 0.5:
                am[k, L.AM_PS] = _group_sum(p, grp, float(k))
            else:
                ps = am[k, L.AM_PS]
                am[k, L.AM_PS] = ps + (am[k, L.AM_ATT] if s2 > ps else am[k, L.AM_REL]) * (s2 - ps)
            ks = am[k, L.AM_KPS]
            am[k, L.AM_KPS] = ks + (am[k, L.AM_KATT] if s2 > ks else am[k, L.AM_KREL]) * (s2 - ks)
        for c in range(n_ch):
            k = int(grp[c])
            gp[c] = am[max(k, 0), L.AM_PS] if k >= 0 else POWER_FLOOR
        for c in range(n_ch):
            # share = (e_i / e_sum)^slope = (P_i / P_sum)^(slope / 2), clamped at 0 dB
            ratio = (p[c] + POWER_FLOOR) / (gp[c] + POWER_FLOOR)
            if unit_slope:
                sh = math.sqrt(ratio)
            else:
                sh = fast_exp2(0.5 * slope[c] * fast_log2(ratio))
            sh = min(sh, 1.0)
            share[c] = sh
            up[c] = up[c] + 1.0 if sh >= HOLD_SHARE else 0.0
            # talking: an auto member above the group's share threshold and -60 dBFS
            talking = (fa[c] > 0.5) & (ratio >= talk_ratio[c]) & (p[c] >= 1e-6)
            m_talk[c] += 1.0 if talking else 0.0
            # mode crossfade: linear steps of the auto and manual fractions
            a = fa[c] + min(max(fa_t[c] - fa[c], -fstep[c]), fstep[c])
            m = fm[c] + min(max(fm_t[c] - fm[c], -fstep[c]), fstep[c])
            fa[c] = a
            fm[c] = m
            gain[n, c] = a * sh + m  # the target; smoothed below
        if group_rules:
            _group_rules(gain[n], am, grp, share, up, fa)
        for c in range(n_ch):
            target = gain[n, c]
            gc = g[c] + sm[c] * (target - g[c])
            gc = target if abs(target - gc) <= 1e-9 else gc
            g[c] = gc
            m_g2[c] += gc * gc
            m_n[c] += 1.0
            gain[n, c] = gc
        if ducking:
            _duck(gain, n, am, dk_grp, dk_depth, dk_thr, dk_att, dk_rel, dk_hold_n, dk_holdc, dk_g,
                  m_dk_g2, m_dk_n)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _duck(gain, n, am, grp, depth, thr, att, rel, hold_n, holdc, g, m_g2, m_n) -> None:
    """Duck channels under an automix group's voices (a music bed under talk).

    The key is the level of the group's summed voices on a fast detector:
    above the threshold the gain glides down to the depth with the attack
    time constant, stays there for the hold time after the key drops, then
    glides back up with the release time constant.
    """
    for c in range(gain.shape[1]):
        k = int(grp[c])
        key = (k >= 0) & (am[max(k, 0), L.AM_KPS] > thr[c])
        h = hold_n[c] if key else max(holdc[c] - 1.0, 0.0)
        holdc[c] = h
        target = depth[c] if (key | (h > 0.0)) else 1.0
        gc = g[c] + (att[c] if target < g[c] else rel[c]) * (target - g[c])
        gc = target if abs(target - gc) <= 1e-9 else gc
        g[c] = gc
        m_g2[c] += gc * gc
        m_n[c] += 1.0
        gain[n, c] *= gc


@njit(cache=True, nogil=True, error_model="numpy")
def _group_rules(target, am, grp, share, up, fa) -> None:
    """Last-mic hold and NOM limit, per group, on this sample's gain targets.

    Hold: a member whose share stayed above -3 dB for 0.5 s becomes the
    group's last talker; while no member is above -3 dB, the last talker
    stays at full gain (its auto part). NOM limit: when the members' squared
    gains add up to more than the limit, all of them are scaled down to it.
    """
    for k in range(am.shape[0]):
        if am[k, L.AM_ACTIVE] == 0.0:
            continue
        last = int(am[k, L.AM_LAST])
        anyone = False
        for c in range(target.shape[0]):
            if grp[c] == k:
                anyone = anyone or share[c] >= HOLD_SHARE
                if up[c] >= am[k, L.AM_HOLD_N]:
                    last = c
        am[k, L.AM_LAST] = float(last)
        if am[k, L.AM_HOLD] >= 0.5 and not anyone and last >= 0 and grp[last] == k:
            target[last] += fa[last] * (1.0 - share[last])
        limit = am[k, L.AM_NOM_LIMIT]
        if limit > 0.0:
            s2 = 0.0
            for c in range(target.shape[0]):
                if grp[c] == k:
                    s2 += target[c] * target[c]
            if s2 > limit:
                scale = math.sqrt(limit / s2)
                for c in range(target.shape[0]):
                    if grp[c] == k:
                        target[c] *= scale


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _group_sum(values, grp, g) -> float:
    """Sum of ``values`` over the members of group ``g``. Reassociation lets it
    vectorise; the order is fixed by the compiled code (it depends on the
    channel count only), so the result never depends on the block size."""
    s = 0.0
    for c in range(values.shape[0]):
        s += values[c] if grp[c] == g else 0.0
    return s
