"""The automixer: Dugan gain sharing per group, measured on the summed signal.

Each member i of a group gets

    g_i = min(1, e_i / e_sum),  e_i = env(w_i x_i),  e_sum = env(sum_j a_j w_j x_j)

where x is the channel after its EQ and before its compressor, w_i the
weight, a_j the member's "auto" fraction (1 in auto mode, fading to 0 in
manual or mute), and env an RMS detector (power one-pole with attack and
release). Normalising by the level of the *actual summed signal* (the
patent's "input summing means") rather than by the sum of the channel levels
is what gives -10 log10 N at rest with constant ambience, -6 dB for one
talker heard equally on two mics (no +3 dB bump) and the 2 Hz beat of the
D-3 bench test (automixer.md sections 1-3). The "incoherent" option uses the
power sum of the members instead; ``slope`` above 1 lets a louder member
take more of the gain (see ``_shares``).

Each detector tracks its own noise floor. While its level stands clear of
it (talk) it is fast (5 ms attack, 100 ms release), so the next talker's
share rises as soon as the last one stops; near it (room noise) it is slow
(50 ms / 400 ms), so noise alone does not flutter the shares. The gain is
applied after the compressor and before the fader, and glides up with
``gain_attack_ms`` and down with ``gain_ms``; a mode change crossfades the
auto share, unity (manual) and silence (mute) over ``mode_fade_ms``.

Everything runs per sample in a fixed order, so the gains do not depend on
the host's block size.
"""

from __future__ import annotations

import math

from numba import njit

from .. import layout as L
from ..params import AUTOMIX_SLOT, CH_SLOT, N_AUTOMIX_GROUPS, N_AUTOMIX_PARAMS
from . import simd as V
from .fastmath import fast_exp2, fast_log2
from .simd import where
from .smoothing import one_pole_coef

P_GROUP = CH_SLOT["automix.group"]
P_MODE = CH_SLOT["automix.mode"]
P_WEIGHT = CH_SLOT["automix.weight_db"]
P_CHAIR = CH_SLOT["automix.chair"]
P_PRIO = CH_SLOT["automix.priority"]
P_ALWAYS = CH_SLOT["automix.always_on"]
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
PA_ATT_A = AUTOMIX_SLOT["ambience_attack_ms"]
PA_REL_A = AUTOMIX_SLOT["ambience_release_ms"]
PA_GAIN = AUTOMIX_SLOT["gain_ms"]
PA_GAIN_UP = AUTOMIX_SLOT["gain_attack_ms"]
PA_FADE = AUTOMIX_SLOT["mode_fade_ms"]
PA_TALK = AUTOMIX_SLOT["talk_threshold_db"]
PA_OVR = AUTOMIX_SLOT["override"]
PA_OVR_DEPTH = AUTOMIX_SLOT["override_depth_db"]
PA_HOLD = AUTOMIX_SLOT["last_mic_hold"]
PA_NOM = AUTOMIX_SLOT["nom_limit"]
PA_MODE = AUTOMIX_SLOT["mode"]
PA_G_MARGIN = AUTOMIX_SLOT["gate_margin_db"]
PA_G_MAXBUS = AUTOMIX_SLOT["gate_maxbus_db"]
PA_G_HOLD = AUTOMIX_SLOT["gate_hold_ms"]
PA_G_REL = AUTOMIX_SLOT["gate_release_ms"]
PA_G_OFF = AUTOMIX_SLOT["off_attenuation_db"]
PA_G_MAXNOM = AUTOMIX_SLOT["max_nom"]
PA_G_NOMA = AUTOMIX_SLOT["noma"]
PA_G_LASTON = AUTOMIX_SLOT["last_mic_on"]
#: Gating mode's noise-floor tracker follows a falling level with a 500 ms
#: time constant and rises at most 3 dB per second, so minutes of talk do not
#: lift it far; it starts after 100 ms, once the level detector has settled.
#: A mic opens only above -70 dBFS whatever the floor.
NF_DOWN_MS = 500.0
NF_RISE_DB_PER_S = 3.0
NF_WARMUP_S = 0.1
GATE_ABS_FLOOR = 1e-7
#: A level this far above its own tracked noise floor is talk: its detector
#: releases with detector_release_ms. Nearer the floor (room noise, ambience)
#: it releases with ambience_release_ms, so noise alone does not flutter the
#: gains. Both this and the attack margin below blend over +-1.5 dB (``_blend``).
TALK_MARGIN = 10.0  # 10 dB, as a power ratio
#: A slope above 1 sharpens only levels this far above their floor; below, a
#: member counts as its floor plus 6 dB, so room noise is shared as at slope 1.
#: (10 dB held a talker's soft first syllable back: onsets 22 ms, not 12.)
SLOPE_MARGIN = 4.0  # 6 dB
#: The detector attacks with detector_attack_ms in talk and after a share tick
#: (8 samples) whose mean power is this far above the floor, with
#: ambience_attack_ms otherwise. Gaussian room noise practically never comes
#: 20 dB over its floor (|z| > 7); the first loud samples of a word do, so a
#: talker's level rises at once while noise is averaged.
TALK_ATTACK_MARGIN = 100.0  # 20 dB
#: The automix noise floors follow a 20 ms power average: they fall at most
#: 40 dB and rise at most 3 dB per second, so they sit near the low tenth of
#: room noise and come back down in the pauses of speech (a talker pauses
#: far more than a tenth of the time), instead of creeping up during a turn.
FLOOR_AVG_MS = 20.0
FLOOR_FALL_DB_PER_S = 40.0
#: A floor never sits below the lowest 20 ms average of the last 1 to 2
#: seconds: after digital silence (a muted preamp) it catches up with the room
#: within two seconds instead of climbing at 3 dB/s.
FLOOR_WINDOW_S = 1.0
#: The gate decides on its own fast detector: a mic closes its hold time after
#: the talker stops, not after a slow share release.
GATE_DET_ATTACK_MS = 1.0
GATE_DET_RELEASE_MS = 10.0
#: Last-mic hold (Dugan Music System): a channel becomes the last talker when
#: its share stays above -3 dB for half a second.
HOLD_SHARE = 0.7079457843841379  # -3 dB
HOLD_S = 0.5
#: The ducking key follows the group's voices quickly; the ducker's hold
#: bridges the gaps between words.
KEY_ATTACK_MS = 5.0
KEY_RELEASE_MS = 50.0
#: The shares (a division and a square root per channel) are computed every
#: this many samples of the sample clock and held between; the level
#: detectors and the control sum still run per sample, and the 10 ms gain
#: glide smooths the steps. Cuts the stage's cost about fourfold.
SHARE_EVERY = 8
#: A member counts as talking only 3 dB above its group's rest share.
TALK_OVER_REST_DB = 3.0
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
        am[g, L.AM_ATT_A] = one_pole_coef(q[PA_ATT_A], fs)
        am[g, L.AM_REL_A] = one_pole_coef(q[PA_REL_A], fs)
        am[g, L.AM_INCOH] = q[PA_SUM]
        am[g, L.AM_ACTIVE] = 0.0
        am[g, L.AM_KEY] = 0.0
        am[g, L.AM_MEMBERS] = 0.0
        am[g, L.AM_KATT] = one_pole_coef(KEY_ATTACK_MS, fs)
        am[g, L.AM_KREL] = one_pole_coef(KEY_RELEASE_MS, fs)
        am[g, L.AM_HOLD] = q[PA_HOLD]
        am[g, L.AM_NOM_LIMIT] = q[PA_NOM]
        am[g, L.AM_HOLD_N] = HOLD_S * fs
        am[g, L.AM_GATE] = q[PA_MODE]
        am[g, L.AM_G_MARGIN] = 10.0 ** (q[PA_G_MARGIN] * 0.1)
        am[g, L.AM_G_MAXBUS] = 10.0 ** (-q[PA_G_MAXBUS] * 0.1)
        am[g, L.AM_G_HOLD_N] = q[PA_G_HOLD] * 1e-3 * fs
        am[g, L.AM_G_OFF] = 10.0 ** (-q[PA_G_OFF] * 0.05)
        am[g, L.AM_G_MAXNOM] = q[PA_G_MAXNOM]
        am[g, L.AM_G_NOMA] = q[PA_G_NOMA]
        am[g, L.AM_G_LASTON] = q[PA_G_LASTON]
        am[g, L.AM_G_PATT] = one_pole_coef(GATE_DET_ATTACK_MS, fs)
        am[g, L.AM_G_PREL] = one_pole_coef(GATE_DET_RELEASE_MS, fs)
        am[g, L.AM_G_NF_DN] = one_pole_coef(NF_DOWN_MS, fs)
        am[g, L.AM_G_NF_UP] = 10.0 ** (NF_RISE_DB_PER_S * 0.1 / fs)  # power factor per sample
        am[g, L.AM_NF_DN] = 10.0 ** (-FLOOR_FALL_DB_PER_S * 0.1 * SHARE_EVERY / fs)
        am[g, L.AM_NF_UP] = 10.0 ** (NF_RISE_DB_PER_S * 0.1 * SHARE_EVERY / fs)
        am[g, L.AM_PF_A] = one_pole_coef(FLOOR_AVG_MS, fs, SHARE_EVERY)
        am[g, L.AM_WMIN_LEN] = FLOOR_WINDOW_S * fs
        if fresh < 0:
            am[g, L.AM_NF_BUS] = 0.0
            am[g, L.AM_ACC_BUS] = 0.0
            am[g, L.AM_UP_C] = am[g, L.AM_ATT]
            am[g, L.AM_DN_C] = am[g, L.AM_REL]
            am[g, L.AM_NF_WARM] = NF_WARMUP_S * fs
            am[g, L.AM_WMIN] = 0.0
            am[g, L.AM_WMIN_PREV] = 0.0
            am[g, L.AM_WMIN_N] = 0.0
            am[g, L.AM_G_LAST] = -1.0
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
        S[L.C_AM_ATT_A, c] = one_pole_coef(q[PA_ATT_A], fs)
        S[L.C_AM_REL_A, c] = one_pole_coef(q[PA_REL_A], fs)
        S[L.C_AM_SM, c] = one_pole_coef(q[PA_GAIN], fs)
        S[L.C_AM_SM_UP, c] = one_pole_coef(q[PA_GAIN_UP], fs)
        S[L.C_AM_SLOPE, c] = q[PA_SLOPE]
        S[L.C_GT_PRIO, c] = p[P_PRIO]
        S[L.C_GT_ALWAYS, c] = p[P_ALWAYS]
        S[L.C_GT_REL, c] = one_pole_coef(q[PA_G_REL], fs)
        S[L.C_GT_MEMBER, c] = 1.0 if (g >= 0 and q[PA_MODE] >= 0.5) else 0.0
        S[L.C_GT_MARGIN, c] = 10.0 ** (q[PA_G_MARGIN] * 0.1)
        S[L.C_AM_TALK, c] = q[PA_TALK]  # in dB; made relative to the group size below
        if g >= 0 and fa > 0.0:
            am[g, L.AM_MEMBERS] += 1.0
        if fresh < 0:
            S[L.C_AM_FA, c] = fa
            S[L.C_AM_FM, c] = fm
            S[L.C_AM_G, c] = fm
            S[L.C_AM_SHARE, c] = 1.0
            S[L.C_AM_P, c] = 0.0
            S[L.C_AM_UP, c] = 0.0
            S[L.C_DK_G, c] = 1.0
            S[L.C_DK_HOLDC, c] = 0.0
            S[L.C_GT_OPEN, c] = 0.0
            S[L.C_GT_HOLDC, c] = 0.0
            S[L.C_GT_NF, c] = -(NF_WARMUP_S * fs)  # negative: samples until the tracker starts
            S[L.C_GT_PF, c] = 0.0
            S[L.C_AM_NF, c] = 0.0
            S[L.C_AM_PF, c] = 0.0
            S[L.C_AM_ACC, c] = 0.0
            S[L.C_AM_WMIN, c] = 0.0
            S[L.C_AM_WMIN_PREV, c] = 0.0
            S[L.C_AM_UP_C, c] = S[L.C_AM_ATT, c]
            S[L.C_AM_DN_C, c] = S[L.C_AM_REL, c]
    # talking: a share above the group's threshold and at least 3 dB above the
    # rest share -10 log10 N (so room noise on a small group is not talk),
    # compared as a power ratio: no logarithm per sample
    for c in range(S.shape[1]):
        g = int(S[L.C_AM_GRP, c])
        n_g = am[g, L.AM_MEMBERS] if g >= 0 else 1.0
        thr_db = max(S[L.C_AM_TALK, c], -10.0 * math.log10(max(n_g, 1.0)) + TALK_OVER_REST_DB)
        S[L.C_AM_TALK, c] = 10.0 ** (thr_db / 10.0)


@njit(cache=True, nogil=True, error_model="numpy")
def automix_needed(S, bus_st) -> bool:
    """True while any channel is a member of an active group, any channel or
    bus ducks, or a gain still moves."""
    for b in range(bus_st.shape[0]):
        if bus_st[b, L.B_DK_GRP] >= 0.0:
            return True
    for c in range(S.shape[1]):
        if (S[L.C_AM_GRP, c] >= 0.0 or S[L.C_AM_G, c] != 1.0 or S[L.C_AM_FM, c] != 1.0
                or S[L.C_DK_GRP, c] >= 0.0 or S[L.C_DK_G, c] != 1.0):
            return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def automix_pass(det, S, am, gain, u, key, n0, n1, clock) -> None:
    """Automix gains of every channel for rows ``n0..n1`` into ``gain``.

    Parameters
    ----------
    det : float64[frames, channels]
        The detection signal (post-EQ, pre-compressor).
    gain : float64[frames, channels]
        Output: the gain to apply to each channel's post-compressor signal.
    u : float64[frames, channels]
        Scratch: weighted, mode-faded detection signal.
    key : float64[frames, groups]
        Output: each group's ducking key per sample (for the buses).
    clock : int
        The sample clock at row 0 (shares are computed on its fixed grid).
    """
    unit_slope = True
    ducking = False
    for c in range(det.shape[1]):
        unit_slope = unit_slope and (S[L.C_AM_GRP, c] < 0.0 or S[L.C_AM_SLOPE, c] == 1.0)
        ducking = ducking or S[L.C_DK_GRP, c] >= 0.0 or S[L.C_DK_G, c] != 1.0
    _rows(det, u, gain, am, key, n0, n1, clock, unit_slope, S[L.C_AM_W], S[L.C_AM_FA], S[L.C_AM_P],
          S[L.C_AM_ATT], S[L.C_AM_REL], S[L.C_AM_GRP], S[L.C_AM_GP], S[L.C_AM_SLOPE],
          S[L.C_AM_SHARE], S[L.C_AM_FA_T], S[L.C_AM_FM], S[L.C_AM_FM_T], S[L.C_AM_FSTEP],
          S[L.C_AM_G], S[L.C_AM_SM], S[L.C_AM_TALK], S[L.C_AM_UP], S[L.C_M_AM_G2],
          S[L.C_M_AM_N], S[L.C_M_AM_TALK], ducking, S[L.C_DK_GRP], S[L.C_DK_DEPTH], S[L.C_DK_THR],
          S[L.C_DK_ATT], S[L.C_DK_REL], S[L.C_DK_HOLD_N], S[L.C_DK_HOLDC], S[L.C_DK_G],
          S[L.C_M_DK_G2], S[L.C_M_DK_N], S[L.C_GT_OPEN], S[L.C_GT_HOLDC], S[L.C_GT_NF],
          S[L.C_GT_PRIO], S[L.C_GT_ALWAYS], S[L.C_GT_REL], S[L.C_GT_MEMBER], S[L.C_GT_MARGIN],
          S[L.C_GT_PF], S[L.C_AM_SM_UP], S[L.C_AM_NF],
          S[L.C_AM_ATT_A], S[L.C_AM_REL_A], S[L.C_AM_PF], S[L.C_AM_ACC], S[L.C_AM_UP_C],
          S[L.C_AM_DN_C], S[L.C_AM_WMIN], S[L.C_AM_WMIN_PREV])



# One function holds the whole per-sample sequence with every state row as its
# own argument: calls per sample with twenty array arguments cost more than
# the arithmetic, and separate arguments let LLVM vectorise the channel loops.
@njit(cache=True, nogil=True, error_model="numpy")
def _rows(det, u, gain, am, key, n0, n1, clock, unit_slope, w, fa, p, att, rel, grp, gp, slope, share,
          fa_t, fm, fm_t, fstep, g, sm, talk_ratio, up, m_g2, m_n, m_talk, ducking, dk_grp,
          dk_depth, dk_thr, dk_att, dk_rel, dk_hold_n, dk_holdc, dk_g, m_dk_g2, m_dk_n, gt_open,
          gt_holdc, gt_nf, gt_prio, gt_always, gt_rel, gt_member, gt_margin, gt_pf, sm_up, nf,
          att_a, rel_a, pf, acc, up_c, dn_c, wmin, wmin_prev) -> None:
    n_ch = det.shape[1]
    n_groups = am.shape[0]
    gating = False
    for k in range(n_groups):
        gating = gating or (am[k, L.AM_ACTIVE] != 0.0 and am[k, L.AM_GATE] >= 0.5)
    # last-mic hold and NOM limits need a look across each group every sample
    group_rules = False
    for k in range(n_groups):
        group_rules = group_rules or (am[k, L.AM_ACTIVE] != 0.0 and (
            am[k, L.AM_HOLD] >= 0.5 or am[k, L.AM_NOM_LIMIT] > 0.0))
    # a settled fade steps by exactly 0 (fa + 0 == fa), so the targets need
    # only the share; fused with the glide, the targets are never stored
    fade_settled = True
    for c in range(n_ch):
        fade_settled = fade_settled and fa[c] == fa_t[c] and fm[c] == fm_t[c]
    incoherent = False  # a power sum needs every member's level at every sample
    for k in range(n_groups):
        incoherent = incoherent or (am[k, L.AM_INCOH] >= 0.5 and (
            am[k, L.AM_ACTIVE] != 0.0 or am[k, L.AM_KEY] != 0.0))
    for c in range(n_ch):
        m_n[c] += float(n1 - n0)  # the gain meter's sample count
    if fade_settled and not (gating or group_rules or ducking or incoherent):
        _rows_tiled(det, u, gain, am, key, n0, n1, clock, unit_slope, w, fa, p, att, rel, grp, gp,
                    slope, share, fm, g, sm, talk_ratio, up, m_g2, m_talk, gt_open, gt_nf,
                    gt_rel, gt_member, gt_margin, gt_pf, sm_up, nf, att_a, rel_a, pf, acc, up_c,
                    dn_c, wmin, wmin_prev)
        return
    for n in range(n0, n1):
        # weighted, mode-faded detection and its RMS detector (talk or ambience
        # ballistics as chosen at the last share tick); the energy since that
        # tick feeds the noise floor and the next choice
        for c in range(n_ch):
            u[n, c], p[c], acc[c] = _detect(det[n, c], w[c], fa[c], p[c], acc[c], up_c[c], dn_c[c])
        _group_levels(u, p, grp, am, key, n)
        if (clock + n) % SHARE_EVERY == 0:
            _shares(p, grp, gp, am, unit_slope, slope, share, up, fa, talk_ratio, gt_open, gt_pf,
                    gt_nf, gt_margin, gt_member, m_talk, nf, pf, acc, att, rel, att_a, rel_a,
                    up_c, dn_c, wmin, wmin_prev)
        if gating:  # gated groups replace their members' shares by gate gains
            _gate(am, grp, u[n], gt_pf, share, fa, gt_open, gt_holdc, gt_nf, gt_prio, gt_always)
        if group_rules:  # targets first: the rules look across the group
            for c in range(n_ch):
                gain[n, c] = _fade(c, fa, fa_t, fm, fm_t, fstep, share)
            _group_rules(gain[n], am, grp, share, up, fa)
            for c in range(n_ch):
                gain[n, c] = _glide(c, gain[n, c], g, sm_up, sm, gt_open, gt_member, gt_rel, m_g2)
        elif fade_settled:  # no mode fade running: the target is a constant blend of the share
            for c in range(n_ch):
                gain[n, c] = _glide(c, fa[c] * share[c] + fm[c], g, sm_up, sm, gt_open, gt_member,
                                    gt_rel, m_g2)
        else:
            for c in range(n_ch):
                gain[n, c] = _glide(c, _fade(c, fa, fa_t, fm, fm_t, fstep, share), g, sm_up, sm,
                                    gt_open, gt_member, gt_rel, m_g2)
        if ducking:
            _duck(gain, n, am, dk_grp, dk_depth, dk_thr, dk_att, dk_rel, dk_hold_n, dk_holdc, dk_g,
                  m_dk_g2, m_dk_n)


# Without mode fades, gating, group rules, ducking or power sums (the common
# case: gain sharing at rest), a channel's detector and gain glide between two
# share ticks depend on nothing but its own state: they run on tiles of
# channels in registers (the x42 shape) over the up to SHARE_EVERY samples
# between ticks, in the same order of operations as the per-sample loop above
# (bit-identical), while the group levels still run sample by sample.
@njit(cache=True, nogil=True, error_model="numpy")
def _rows_tiled(det, u, gain, am, key, n0, n1, clock, unit_slope, w, fa, p, att, rel, grp, gp, slope,
                share, fm, g, sm, talk_ratio, up, m_g2, m_talk, gt_open, gt_nf, gt_rel, gt_member,
                gt_margin, gt_pf, sm_up, nf, att_a, rel_a, pf, acc, up_c, dn_c, wmin,
                wmin_prev) -> None:
    n = n0  # the next sample to detect
    n_glide = n0  # the next sample to glide
    while n < n1:
        # the share tick at sample t comes after t's detection and before its glide
        t = n + (SHARE_EVERY - (clock + n) % SHARE_EVERY) % SHARE_EVERY
        end = min(t + 1, n1)
        _detect_tiles(det, u, w, fa, p, acc, up_c, dn_c, n, end)
        for m in range(n, end):
            _group_levels(u, p, grp, am, key, m)
        if t < n1:
            _glide_tiles(gain, fa, share, fm, g, sm_up, sm, gt_open, gt_member, gt_rel, m_g2,
                         n_glide, t)
            _shares(p, grp, gp, am, unit_slope, slope, share, up, fa, talk_ratio, gt_open, gt_pf,
                    gt_nf, gt_margin, gt_member, m_talk, nf, pf, acc, att, rel, att_a, rel_a,
                    up_c, dn_c, wmin, wmin_prev)
            n_glide = t
        n = end
    _glide_tiles(gain, fa, share, fm, g, sm_up, sm, gt_open, gt_member, gt_rel, m_g2, n_glide, n1)


@njit(cache=True, nogil=True, error_model="numpy")
def _detect_tiles(det, u, w, fa, p, acc, up_c, dn_c, n0, n1) -> None:
    """``_detect`` for rows ``n0..n1`` of every channel, on tiles of channels."""
    V.on_tiles(_det_load, _det_step, _det_store, (w, fa, p, acc, up_c, dn_c), det, u, n0, n1)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _det_load(rows, cb, k) -> tuple:
    w, fa, p, acc, up_c, dn_c = rows
    return (V.load(w, cb, k), V.load(fa, cb, k), V.load(p, cb, k), V.load(acc, cb, k),
            V.load(up_c, cb, k), V.load(dn_c, cb, k))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _det_step(row, out, cb, k, t) -> tuple:
    x, p, acc = _detect(V.load(row, cb, k), t[0], t[1], t[2], t[3], t[4], t[5])
    V.store(out, cb, k, x)
    return (t[0], t[1], p, acc, t[4], t[5])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _det_store(rows, cb, k, t) -> None:
    V.store(rows[2], cb, k, t[2])
    V.store(rows[3], cb, k, t[3])


@njit(cache=True, nogil=True, error_model="numpy")
def _glide_tiles(gain, fa, share, fm, g, sm_up, sm, gt_open, gt_member, gt_rel, m_g2, n0, n1) -> None:
    """Rows ``n0..n1`` of every channel's gain gliding to its settled target
    ``fa * share + fm`` (``_glide_step``), on tiles of channels."""
    if n1 > n0:
        V.on_tiles(_gl_load, _gl_step, _gl_store,
                  (fa, share, fm, g, sm_up, sm, gt_open, gt_member, gt_rel, m_g2), gain, gain, n0, n1)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gl_load(rows, cb, k) -> tuple:
    fa, share, fm, g, sm_up, sm, gt_open, gt_member, gt_rel, m_g2 = rows
    return (V.load(fa, cb, k) * V.load(share, cb, k) + V.load(fm, cb, k), V.load(g, cb, k),
            V.load(m_g2, cb, k), V.load(sm_up, cb, k), V.load(sm, cb, k), V.load(gt_open, cb, k),
            V.load(gt_member, cb, k), V.load(gt_rel, cb, k))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gl_step(unused, row, cb, k, t) -> tuple:
    g = _glide_step(t[0], t[1], t[3], t[4], t[5], t[6], t[7])
    V.store(row, cb, k, g)
    return (t[0], g, t[2] + g * g, t[3], t[4], t[5], t[6], t[7])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gl_store(rows, cb, k, t) -> None:
    V.store(rows[3], cb, k, t[1])
    V.store(rows[9], cb, k, t[2])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _detect(d, w, fa, p, acc, up_c, dn_c) -> tuple:
    """One sample of a member's weighted, mode-faded detection signal ``x`` and
    its RMS detector: returns ``(x, p, acc)``, the new detector power and the
    energy since the last share tick. For floats and tiles of channels."""
    x = d * w * fa
    x2 = x * x
    return x, p + where(x2 > p, up_c, dn_c) * (x2 - p), acc + x2


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _group_levels(u, p, grp, am, key, n) -> None:
    """Sample ``n`` of each group's control level (of the summed signal ``u[n]``,
    or the power sum of the members' levels ``p``) and its ducking key."""
    for k in range(am.shape[0]):
        if am[k, L.AM_ACTIVE] == 0.0 and am[k, L.AM_KEY] == 0.0:
            continue
        s = _group_sum(u[n], grp, float(k))
        s2 = s * s
        if am[k, L.AM_INCOH] >= 0.5:
            am[k, L.AM_PS] = _group_sum(p, grp, float(k))
        else:
            ps = am[k, L.AM_PS]
            am[k, L.AM_ACC_BUS] += s2
            a_ps = am[k, L.AM_UP_C] if s2 > ps else am[k, L.AM_DN_C]
            am[k, L.AM_PS] = ps + a_ps * (s2 - ps)
        ks = am[k, L.AM_KPS]
        am[k, L.AM_KPS] = ks + (am[k, L.AM_KATT] if s2 > ks else am[k, L.AM_KREL]) * (s2 - ks)
    for k in range(am.shape[0]):
        key[n, k] = am[k, L.AM_KPS]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _fade(c, fa, fa_t, fm, fm_t, fstep, share) -> float:
    """Channel ``c``'s gain target: its share, blended by one linear step of
    the mode crossfade (auto and manual fractions)."""
    a = fa[c] + min(max(fa_t[c] - fa[c], -fstep[c]), fstep[c])
    m = fm[c] + min(max(fm_t[c] - fm[c], -fstep[c]), fstep[c])
    fa[c] = a
    fm[c] = m
    return a * share[c] + m


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _glide(c, target, g, sm_up, sm, gt_open, gt_member, gt_rel, m_g2) -> float:
    """One sample of channel ``c``'s gain gliding to ``target``: a gated mic
    closes with the gate's release; everything else glides with the group's
    gain time constants, rising and falling (blended arithmetically: nested
    selects kept the loop scalar)."""
    gc = _glide_step(target, g[c], sm_up[c], sm[c], gt_open[c], gt_member[c], gt_rel[c])
    g[c] = gc
    m_g2[c] += gc * gc
    return gc


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _glide_step(target, g, sm_up, sm, gt_open, gt_member, gt_rel):
    """The next gain of a one-pole glide from ``g`` to ``target``: rising with
    ``sm_up``, falling with ``sm``, a closing gated mic with ``gt_rel``; it
    lands on the target once within 1e-9. For floats and tiles of channels."""
    falling = where(target < g, 1.0, 0.0)
    closing = falling * where(gt_open == 0.0, 1.0, 0.0) * gt_member
    a = sm_up + falling * (sm - sm_up)
    a = a + closing * (gt_rel - a)
    gc = g + a * (target - g)
    return where(abs(target - gc) <= 1e-9, target, gc)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _shares(p, grp, gp, am, unit_slope, slope, share, up, fa, talk_ratio, gt_open, gt_pf, gt_nf,
            gt_margin, gt_member, m_talk, nf, pf, acc, att, rel, att_a, rel_a, up_c, dn_c, wmin,
            wmin_prev) -> None:
    """Every member's share, and what depends on it: the last-mic counters and
    the talking meter (each standing for SHARE_EVERY samples).

    share_i^2 = (P_i / P_sum) * A_i^(s-1) * sum_j A_j / sum_j A_j^s,  clamped at 0 dB,
    A_i = max(P_i, 4 N_i),

    with P the members' detector powers, P_sum that of the control signal, s
    the slope and N each member's tracked noise floor. The first factor is
    Dugan's (e_i / e_sum)^2: -10 log10 N at rest, -6 dB each for one source on
    two mics (no bump), the beat of the D-3 oscillators. The second is 1 at
    s = 1 and whenever the members' levels are equal; above 1 a louder member
    takes more of the gain while the squared gains still add up as at s = 1
    (automixer.md 8.2), so the rest gains and the ambience do not move, and the
    bleed of a talker on a mic x dB down comes down by about s x dB instead of
    x. Levels within 6 dB of their own noise floor count as that floor plus
    6 dB: room noise alone is shared as at s = 1, its fluctuations not
    sharpened into openings.
    """
    n_ch = p.shape[0]
    for c in range(n_ch):
        k = int(grp[c])
        gp[c] = am[max(k, 0), L.AM_PS] if k >= 0 else POWER_FLOOR
    # 20 ms averages (from the energy since the last tick), noise floors and
    # the detectors' ballistics for the next SHARE_EVERY samples, for every
    # member and every group's control signal. The warm-up and the one-second
    # windows count only ticks with signal: how long the engine sat in digital
    # silence (before a player starts, or a JACK cycle it missed meanwhile)
    # leaves no trace in what follows.
    heard = 0.0
    for c in range(n_ch):
        heard += acc[c]
    step = SHARE_EVERY if heard > 0.0 else 0.0
    warm = am[0, L.AM_NF_WARM] > 0.0
    am[0, L.AM_NF_WARM] -= step
    dn = am[0, L.AM_NF_DN]
    rise = am[0, L.AM_NF_UP]
    avg = am[0, L.AM_PF_A]
    new_window = am[0, L.AM_WMIN_N] >= am[0, L.AM_WMIN_LEN]
    am[0, L.AM_WMIN_N] = step if new_window else am[0, L.AM_WMIN_N] + step
    zero = V.splat(0.0)
    for cb in range(0, n_ch, V.WIDTH):  # tiles of channels: one register per row
        k = min(n_ch - cb, V.WIDTH)
        ticked = _floor_tick(
            V.load(acc, cb, k), V.load(pf, cb, k), V.load(wmin, cb, k), V.load(wmin_prev, cb, k),
            V.load(nf, cb, k), V.load(p, cb, k), V.load(att, cb, k), V.load(rel, cb, k),
            V.load(att_a, cb, k), V.load(rel_a, cb, k), avg, dn, rise, new_window, warm)
        V.store_rows((acc, pf, wmin, wmin_prev, nf, up_c, dn_c), cb, k, (zero,) + ticked)
    for k in range(am.shape[0]):
        q = am[k]
        (q[L.AM_PF_BUS], q[L.AM_WMIN], q[L.AM_WMIN_PREV], q[L.AM_NF_BUS], q[L.AM_UP_C],
         q[L.AM_DN_C]) = _floor_tick(q[L.AM_ACC_BUS], q[L.AM_PF_BUS], q[L.AM_WMIN], q[L.AM_WMIN_PREV],
                                     q[L.AM_NF_BUS], q[L.AM_PS], q[L.AM_ATT], q[L.AM_REL],
                                     q[L.AM_ATT_A], q[L.AM_REL_A], avg, dn, rise, new_window, warm)
        q[L.AM_ACC_BUS] = 0.0
    # share holds each member's slope factor A^(s-1) sum A / sum A^s until the
    # loop below writes the share itself; the factor is worked out in loops of
    # its own so that loop, the one every tick runs, has no per-member branch
    # or group lookup and vectorises (its square root and division were scalar)
    if unit_slope:
        for c in range(n_ch):
            share[c] = 1.0
    else:
        for k in range(am.shape[0]):
            am[k, L.AM_SL_SUM] = 0.0
            am[k, L.AM_SL_SUMS] = 0.0
        for c in range(n_ch):
            k = int(grp[c])
            share[c] = 1.0
            if k >= 0:
                a = max(p[c], SLOPE_MARGIN * nf[c]) + POWER_FLOOR
                a_s = fast_exp2(slope[c] * fast_log2(a))
                share[c] = a_s / a  # A^(s-1), for now
                am[k, L.AM_SL_SUM] += a
                am[k, L.AM_SL_SUMS] += a_s
        for c in range(n_ch):
            k = int(grp[c])
            if k >= 0:
                share[c] = share[c] * am[k, L.AM_SL_SUM] / am[k, L.AM_SL_SUMS]
    for c in range(n_ch):
        ratio = (p[c] + POWER_FLOOR) / (gp[c] + POWER_FLOOR) * share[c]
        sh = min(math.sqrt(ratio), 1.0)
        share[c] = sh
        up[c] = up[c] + SHARE_EVERY if sh >= HOLD_SHARE else 0.0
        # talking: an auto member above the group's share threshold and
        # -60 dBFS; in gating mode, an open mic above its opening level
        share_talk = (fa[c] > 0.5) & (ratio >= talk_ratio[c]) & (p[c] >= 1e-6)
        gate_talk = (gt_open[c] != 0.0) & (gt_pf[c] > gt_nf[c] * gt_margin[c]) & (gt_pf[c] >= 1e-6)
        talking = gate_talk if gt_member[c] != 0.0 else share_talk
        m_talk[c] += SHARE_EVERY if talking else 0.0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _floor_tick(acc, pf, wmin, wmin_prev, nf, level, att, rel, att_a, rel_a, avg, down, rise,
                new_window, warm) -> tuple:
    """One share tick of a detector's noise floor and ballistics, from ``acc``,
    its energy since the last tick: returns ``(pf, wmin, wmin_prev, nf, up_c,
    dn_c)``, its 20 ms average, the lowest averages of this and the last
    window, its floor (``_follow_floor``), and its attack and release
    coefficients for the next SHARE_EVERY samples (``_talk_weights``). For a
    member's floats, a tile of members, or a group's control signal."""
    e = acc * (1.0 / SHARE_EVERY)
    pf = pf + avg * (e - pf)
    wmin_prev = where(new_window, wmin, wmin_prev)
    wmin = where(new_window, pf, min(wmin, pf))
    nf = _follow_floor(nf, pf, down, rise, min(wmin, wmin_prev), warm)
    fast, talk = _talk_weights(level, e, nf, warm)
    return pf, wmin, wmin_prev, nf, att_a + fast * (att - att_a), rel_a + talk * (rel - rel_a)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _follow_floor(f, level, down, up, window_low, warm) -> float:
    """One share tick of a noise floor: follows ``level`` (a 20 ms average),
    falling by the power factor ``down`` and rising by ``up`` at most (40 and
    3 dB per second), never below ``window_low``, the lowest level of the last
    1-2 s; while warming up, the level itself."""
    if warm:
        return level
    return max(min(max(level, f * down), f * up), window_low)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _talk_weights(level, tick_power, floor, warm) -> tuple:
    """(fast, talk): how far a detector takes its talk attack and its talk
    release, 0..1. Talk while its level stands 10 dB over the floor; the talk
    attack also after a tick 20 dB over it; each blended over +-1.5 dB; while
    the floors warm up, talk."""
    talk = _blend(level, floor, TALK_MARGIN)
    fast = max(talk, _blend(tick_power, floor, TALK_ATTACK_MARGIN))
    return where(warm, 1.0, fast), where(warm, 1.0, talk)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _blend(level, floor, margin) -> float:
    """0 up to ``margin`` times ``floor`` less 1.5 dB, 1 from 1.5 dB above it,
    linear in power between. A hard switch would turn a rounding difference
    into a different gain trajectory; this cannot."""
    lo = 0.7071067811865476 * margin * floor
    return min(max((level - lo) / (lo + 1e-30), 0.0), 1.0)


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
def _gate(am, grp, x, p, share, fa, is_open, holdc, nf, prio, always) -> None:
    """Gating mode for one sample: decide which members are open, set their
    gains (NOMA when open, the off attenuation when closed) into ``share``.

    A member is a candidate when its level is ``gate_margin_db`` above its
    own tracked noise floor (noise-adaptive threshold), above -70 dBFS, and
    within ``gate_maxbus_db`` of the loudest member (one mic per source: the
    bleed of a talker on a neighbouring mic is lower and stays closed).
    Open members that are still candidates, or still within their hold,
    stay open; new candidates open by priority (then channel order) while
    fewer than ``max_nom`` are open, and at the limit a candidate replaces
    an open mic of lower priority. Always-on members are always open and
    not counted. With last-mic lock-on, the last mic opened stays open while
    no other is. Open members get 1 / sqrt(NOM) with NOMA. The levels are
    a gate's fast detector (1 ms / 10 ms) of the weighted signal ``x``, so a
    mic closes a hold time after its talker stops, not a share release later.
    """
    n_ch = p.shape[0]
    for k in range(am.shape[0]):
        if am[k, L.AM_ACTIVE] == 0.0 or am[k, L.AM_GATE] < 0.5:
            continue
        kf = float(k)
        loudest = 0.0
        for c in range(n_ch):
            if grp[c] == kf:
                x2 = x[c] * x[c]
                p[c] += (am[k, L.AM_G_PATT] if x2 > p[c] else am[k, L.AM_G_PREL]) * (x2 - p[c])
            if grp[c] == kf and fa[c] > 0.0:
                loudest = max(loudest, p[c])
                f = nf[c]
                if f < 0.0:  # warming up; the tracker starts from the level
                    f = p[c] if f >= -1.0 else f + 1.0
                elif p[c] < f:
                    f += am[k, L.AM_G_NF_DN] * (p[c] - f)
                else:
                    f = min(f * am[k, L.AM_G_NF_UP], p[c])
                nf[c] = f
        floor_bus = loudest * am[k, L.AM_G_MAXBUS]
        # keep the open ones that are still candidates or holding
        n_open = 0.0
        for c in range(n_ch):
            if grp[c] != kf:
                continue
            cand = (fa[c] > 0.0) and nf[c] > 0.0 and p[c] > nf[c] * am[k, L.AM_G_MARGIN] \
                and p[c] > GATE_ABS_FLOOR and p[c] >= floor_bus
            if always[c] >= 0.5:
                is_open[c] = 1.0
                continue
            if is_open[c] != 0.0:
                if cand:
                    holdc[c] = am[k, L.AM_G_HOLD_N]
                elif holdc[c] > 0.0:
                    holdc[c] -= 1.0
                else:
                    is_open[c] = 0.0
            # remember candidacy for the opening pass below (as a negative hold)
            if is_open[c] == 0.0:
                holdc[c] = -1.0 if cand else 0.0
            else:
                n_open += 1.0
        # open new candidates by priority: below the limit they just open; at
        # the limit a candidate takes the place of an open mic of lower priority
        level = 3.0
        while level >= 0.0:
            for c in range(n_ch):
                if grp[c] != kf or is_open[c] != 0.0 or holdc[c] >= 0.0 or prio[c] != level:
                    continue
                if n_open >= am[k, L.AM_G_MAXNOM]:
                    victim = -1
                    for v in range(n_ch):
                        if (grp[v] == kf and is_open[v] != 0.0 and always[v] < 0.5 and prio[v] < level
                                and (victim < 0 or prio[v] < prio[victim])):
                            victim = v
                    if victim < 0:
                        continue
                    is_open[victim] = 0.0
                    holdc[victim] = 0.0
                    n_open -= 1.0
                is_open[c] = 1.0
                holdc[c] = am[k, L.AM_G_HOLD_N]
                n_open += 1.0
                am[k, L.AM_G_LAST] = float(c)
            level -= 1.0
        for c in range(n_ch):
            if grp[c] == kf and holdc[c] < 0.0:
                holdc[c] = 0.0
        # last-mic lock-on: nobody open, the last one stays
        last = int(am[k, L.AM_G_LAST])
        if n_open == 0.0 and am[k, L.AM_G_LASTON] >= 0.5 and last >= 0 and grp[last] == kf:
            is_open[last] = 1.0
        nom = 0.0
        for c in range(n_ch):
            if grp[c] == kf and is_open[c] != 0.0:
                nom += 1.0
        am[k, L.AM_G_NOM] = nom
        g_open = 1.0 / math.sqrt(max(nom, 1.0)) if am[k, L.AM_G_NOMA] >= 0.5 else 1.0
        for c in range(n_ch):
            if grp[c] == kf:
                share[c] = g_open if is_open[c] != 0.0 else am[k, L.AM_G_OFF]


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
