"""Layout of the plan's state arrays, shared by the kernels and Python.

Channel state is structure-of-arrays, ``ch_state[slot, channel]``, so the
strip's passes run across channels; each bus owns one row of ``bus_state``. Module-level ints are frozen into the compiled kernels as
constants, so naming the slots costs nothing at run time.
"""

from __future__ import annotations

#: Samples between control ticks: smoothed filter parameters advance and
#: coefficients are recomputed on this fixed grid of the sample clock, so the
#: output never depends on the host's block size.
CTRL = 64

#: Peak detector of the gate and compressor: hold the last peak, then fall
#: fast with DET_RELEASE_MS. The hold adapts to the signal: twice the time
#: between the last two peaks that refreshed it, within [MIN, MAX]. A steady
#: tone's troughs are bridged (no ripple, so static curves read true down to
#: 1 / (2 MAX) = 10 Hz), while a release starts within a few ms of the level
#: dropping instead of a fixed hold later.
DET_HOLD_MIN_MS = 2.0
DET_HOLD_MAX_MS = 50.0
DET_RELEASE_MS = 0.5
#: A new peak within this fraction of the held one refreshes the hold
#: (sampled peaks of a steady tone differ by less than 2 %).
DET_REFRESH = 0.98

#: Delay-time changes crossfade between the old and the new tap over this time.
DELAY_XFADE_MS = 20.0
#: Switches (EQ, HPF in/out) and the per-sample gains use this time constant.
GAIN_SMOOTH_MS = 20.0 / 3.0  # reaches -100 dB of a step in about 50 ms
SWITCH_SMOOTH_MS = 10.0
#: Smoothed values this close to their target snap onto it (-100 dB).
SNAP = 1e-5
#: Limiter look-ahead; the main and aux buses are late by this much.
LIMITER_LOOKAHEAD_MS = 1.0

# control words (int64 array ``ctl``)
CTL_CLOCK = 0        # samples processed (audio thread)
CTL_GEN = 1          # parameter generation (control thread bumps after writing targets)
CTL_GEN_SEEN = 2     # generation the audio thread has applied; -1 = fresh plan
CTL_METER_REQ = 3    # meter read-and-reset request counter (control thread)
CTL_METER_ACK = 4    # last request served (audio thread)
CTL_DLY_W = 5        # delay ring write index (audio thread)
CTL_AM_DIRTY = 6     # automix or ducking parameter changes (control thread counts)
CTL_AM_SEEN = 7      # the count the audio thread has applied
N_CTL = 8

# per-plan constants (float64 array ``k``)
K_A_GAIN = 0         # per-sample one-pole coefficient of gains
K_A_SWITCH = 1       # per-sample coefficient of in/out switches
K_DET_HOLD = 2       # detector hold, shortest (samples)
K_DET_REL = 3        # detector release coefficient
K_XF_STEP = 4        # delay crossfade increment per sample
K_FS = 5             # sample rate, Hz
K_DET_HOLD_MAX = 6   # detector hold, longest (samples)
N_K = 8

_ch_slots: list[str] = []
_bus_slots: list[str] = []


def _declare(slots: list[str], names: str) -> None:
    for name in names.split():
        globals()[name] = len(slots)
        slots.append(name)


# --- channel state ---------------------------------------------------------
# 6 filter sections: HPF stage 1, HPF stage 2, EQ bands 1..4; coefficients
# a1 a2 a3 m0 m1 m2 start at C_BQ + 6*k, memories ic1 ic2 at C_Z + 2*k.
# While a filter parameter glides, the coefficients move linearly per sample
# from one control tick's design (C_BQ) toward the next (C_BQT) by C_BQD.
_declare(_ch_slots, "C_BQ")
_ch_slots += ["bq"] * 35
_declare(_ch_slots, "C_BQT")
_ch_slots += ["bqt"] * 35
_declare(_ch_slots, "C_BQD")
_ch_slots += ["bqd"] * 35
# bit k set while section k's coefficients move (its C_BQD are not all zero)
_declare(_ch_slots, "C_FRAMP")
_declare(_ch_slots, "C_Z")
_ch_slots += ["z"] * 11
# smoothed filter parameters (current values) and their ramping flag
_declare(_ch_slots, "C_HPF_F C_EQ_F")
_ch_slots += ["eqf"] * 3
_declare(_ch_slots, "C_EQ_G")
_ch_slots += ["eqg"] * 3
_declare(_ch_slots, "C_EQ_Q")
_ch_slots += ["eqq"] * 3
# the targets of those glides in the log domain (worked out when a parameter
# changes, not on every tick of a glide)
_declare(_ch_slots, "C_HPF_FT C_EQ_FT")
_ch_slots += ["eqft"] * 3
_declare(_ch_slots, "C_EQ_QT")
_ch_slots += ["eqqt"] * 3
# each band's prewarped frequency and linear Q as last designed, so a band
# whose gain alone glides is redesigned without a tangent and two exponentials
_declare(_ch_slots, "C_EQ_W")
_ch_slots += ["eqw"] * 3
_declare(_ch_slots, "C_EQ_QL")
_ch_slots += ["eqql"] * 3
# bits of what still glides between changes (controls.GLIDE_*)
_declare(_ch_slots, "C_RAMPING")
# wet/dry of the switched sections, current and target
_declare(_ch_slots, "C_HPF_MIX C_HPF_MIX_T C_EQ_MIX C_EQ_MIX_T")
# input gain (trim * polarity), current and target
_declare(_ch_slots, "C_GIN C_GIN_T")
# delay: current tap, old tap, crossfade position 0..1, samples of history written
_declare(_ch_slots, "C_DLY C_DLY_OLD C_DLY_XF C_DLY_LIVE")
# gate: detector level and hold counter, open flag, hold counter, gain,
# derived constants
_declare(_ch_slots, "C_G_LVL C_G_DHC C_G_SINCE C_G_OPEN C_G_HOLDC C_G_GAIN "
                    "C_G_THR_OPEN C_G_THR_CLOSE C_G_FLOOR C_G_ATT C_G_REL C_G_HOLD_N")
# compressor: detector level/hold, smoothed reduction (dB), makeup (dB),
# latched settings, the static curve's derived 1 - 1/R and 1 / (2 W)
_declare(_ch_slots, "C_C_LVL C_C_DHC C_C_SINCE C_C_GR C_C_MAKEUP "
                    "C_C_ON C_C_THR C_C_RATIO C_C_KNEE C_C_ATT C_C_REL C_C_SLOPE C_C_INV2W")
# fader * mute, main assign, pan L, pan R: current and target
_declare(_ch_slots, "C_GF C_GF_T C_MAIN C_MAIN_T C_PL C_PL_T C_PR C_PR_T")
# automix: weight (linear), group index (-1 none), auto and manual fractions of
# the mode crossfade with their targets and step, detector power, its group's
# control power, share, applied gain, and the group's coefficients per channel
# and the samples its share has stayed above -3 dB (last-mic hold), the rising
# gain's coefficient, the tracked noise floor of the detector (power;
# negative while warming up), the detector's coefficients near that floor, and
# the 20 ms power average the floor follows, the energy since the last share
# tick, the attack and release coefficients chosen at that tick, and the
# lowest 20 ms average in this second and in the one before
_declare(_ch_slots, "C_AM_W C_AM_GRP C_AM_FA C_AM_FA_T C_AM_FM C_AM_FM_T C_AM_FSTEP C_AM_P "
                    "C_AM_GP C_AM_SHARE C_AM_G C_AM_ATT C_AM_REL C_AM_SM C_AM_SLOPE C_AM_TALK "
                    "C_AM_UP C_AM_SM_UP C_AM_NF C_AM_ATT_A C_AM_REL_A C_AM_PF "
                    "C_AM_ACC C_AM_UP_C C_AM_DN_C C_AM_WMIN C_AM_WMIN_PREV")
# ducking under an automix group: group (-1 none), depth and key threshold
# (linear power), ballistics, hold, and the ducking gain
_declare(_ch_slots, "C_DK_GRP C_DK_DEPTH C_DK_THR C_DK_ATT C_DK_REL C_DK_HOLD_N C_DK_HOLDC C_DK_G")
# gating mode: open flag, hold counter, tracked noise floor (power; negative while
# warming up), priority, always-on, closing coefficient, member of a gated
# group, opening margin (power), fast detector power
_declare(_ch_slots, "C_GT_OPEN C_GT_HOLDC C_GT_NF C_GT_PRIO C_GT_ALWAYS C_GT_REL C_GT_MEMBER "
                    "C_GT_MARGIN C_GT_PF")
# parameter changes of this channel (control side counts) and the count the
# audio side has applied: only a changed channel recomputes its coefficients
_declare(_ch_slots, "C_DIRTY C_DIRTY_SEEN")
# meters since the last read-and-reset
_declare(_ch_slots, "C_M_IN_PEAK C_M_IN_SQ C_M_OUT_PEAK C_M_OUT_SQ C_M_GATE_GR C_M_COMP_GR "
                    "C_M_N C_M_AM_G2 C_M_AM_N C_M_AM_TALK C_M_DK_G2 C_M_DK_N C_M_NONFINITE")
N_CH_STATE = len(_ch_slots)
N_CH_METERS = C_M_NONFINITE - C_M_IN_PEAK + 1  # noqa: F821

# --- bus state (per bus; per-channel filter memories in bus_chan_state) -----
_declare(_bus_slots, "B_BQ")
_bus_slots += ["bq"] * 23
_declare(_bus_slots, "B_BQT")
_bus_slots += ["bqt"] * 23
_declare(_bus_slots, "B_BQD")
_bus_slots += ["bqd"] * 23
_declare(_bus_slots, "B_FRAMP")  # as C_FRAMP: a bit per moving EQ section
_declare(_bus_slots, "B_EQ_F")
_bus_slots += ["eqf"] * 3
_declare(_bus_slots, "B_EQ_G")
_bus_slots += ["eqg"] * 3
_declare(_bus_slots, "B_EQ_Q")
_bus_slots += ["eqq"] * 3
_declare(_bus_slots, "B_EQ_FT")  # log-domain targets, as for channels
_bus_slots += ["eqft"] * 3
_declare(_bus_slots, "B_EQ_QT")
_bus_slots += ["eqqt"] * 3
_declare(_bus_slots, "B_EQ_W")  # as C_EQ_W, C_EQ_QL
_bus_slots += ["eqw"] * 3
_declare(_bus_slots, "B_EQ_QL")
_bus_slots += ["eqql"] * 3
_declare(_bus_slots, "B_RAMPING B_EQ_MIX B_EQ_MIX_T")  # B_RAMPING as C_RAMPING
_declare(_bus_slots, "B_C_LVL B_C_DHC B_C_SINCE B_C_LVL_SEEN B_C_WANT B_C_GR B_C_GAIN B_C_MAKEUP "
                     "B_C_ON B_C_THR B_C_RATIO B_C_KNEE B_C_ATT B_C_REL")
_declare(_bus_slots, "B_GF B_GF_T B_L_CEIL B_L_CEIL_T B_L_ON B_L_REL B_L_MR B_L_SUM B_L_POS "
                     "B_L_CALM")
# ducking under an automix group (as for channels)
_declare(_bus_slots, "B_DK_GRP B_DK_DEPTH B_DK_THR B_DK_ATT B_DK_REL B_DK_HOLD_N B_DK_HOLDC B_DK_G")
_declare(_bus_slots, "B_DIRTY B_DIRTY_SEEN")  # as C_DIRTY
_declare(_bus_slots, "B_M_PEAK B_M_SQ B_M_COMP_GR B_M_LIM_GR B_M_N B_M_DK_G2 B_M_NONFINITE")
N_BUS_STATE = len(_bus_slots)
#: Per bus channel: 4 EQ sections' integrator states.
N_BUS_CHAN_STATE = 8

# --- automix group state (one row per group) -------------------------------
AM_PS = 0        # detector power of the group's control signal
AM_ATT = 1       # detector attack coefficient
AM_REL = 2       # detector release coefficient
AM_INCOH = 3     # 1: control power = sum of member powers
AM_ACTIVE = 4    # group on and has members
AM_NOM = 5       # effective number of open mics (telemetry), (sum g)^2 / sum g^2
AM_HOLD = 6      # last-mic hold on
AM_LAST = 7      # the last talker (channel index, -1 none)
AM_NOM_LIMIT = 8  # limit of the sum of squared gains (0 = off)
AM_HOLD_N = 9    # samples above -3 dB that make a channel the last talker
AM_KEY = 10      # the group keys a ducked channel
AM_KPS = 11      # ducking key: power of the group's control signal, fast detector
AM_KATT = 12     # its attack coefficient (5 ms)
AM_KREL = 13     # its release coefficient (50 ms; the ducker's hold bridges pauses)
AM_GATE = 14     # 1: gating mode
AM_G_MARGIN = 15  # open above noise floor times this (power)
AM_G_MAXBUS = 16  # open only above the loudest member times this (power)
AM_G_HOLD_N = 17  # hold, samples
AM_G_OFF = 18    # gain of a closed mic
AM_G_MAXNOM = 19  # most open mics (always-on ones not counted)
AM_G_NOMA = 20   # 1: number-of-open-mics attenuation
AM_G_LASTON = 21  # 1: last-mic lock-on
AM_G_LAST = 22   # last mic opened (-1 none)
AM_G_NF_DN = 23  # noise floor tracker: coefficient falling (500 ms)
AM_G_NF_UP = 24  # and its rise limit, a power factor per sample (3 dB/s)
AM_G_NOM = 25    # mics open now
AM_G_PATT = 26   # gate detector attack coefficient (1 ms)
AM_G_PREL = 27   # gate detector release coefficient (10 ms)
AM_MEMBERS = 28  # members in auto mode (for the talking threshold)
AM_SL_SUM = 29   # slope > 1, this share tick: sum of the members' slope levels
AM_SL_SUMS = 30  # and the sum of their powers raised to the slope
AM_NF_DN = 31    # noise-floor trackers: fall limit, a power factor per share tick
AM_NF_UP = 32    # and their rise limit, a power factor per share tick
AM_ATT_A = 33    # control detector's attack coefficient near its noise floor
AM_REL_A = 34    # and its release coefficient there
AM_NF_BUS = 35   # noise floor of the control signal (power; negative while warming up)
AM_PF_BUS = 36   # 20 ms power average of the control signal (the floor follows it)
AM_PF_A = 37     # the 20 ms averages' coefficient per share tick
AM_ACC_BUS = 38  # energy of the control signal since the last share tick
AM_UP_C = 39     # the control detector's attack coefficient chosen at that tick
AM_DN_C = 40     # and its release coefficient
AM_NF_WARM = 41  # samples until the noise floors start (group 0's row counts for all)
AM_WMIN = 42     # lowest 20 ms average of the control signal in this second
AM_WMIN_PREV = 43  # and in the second before
AM_WMIN_N = 44   # samples into this second (group 0's row counts for all)
AM_WMIN_LEN = 45  # samples in a second
N_AM_STATE = 46
