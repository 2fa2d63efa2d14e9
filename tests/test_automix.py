"""The automixer against the documented behaviour of the hardware it replaces.

Oracles from ``shared/reference/automixer.md`` section 3 (Dugan guides, the
Handbook for Sound Engineers, Rane, the D-3 bench test). Gains are measured
as the automixer's mean power gain over a window (telemetry
``automix_gain_db``) or on the audio itself, each within +-0.25 dB unless
said otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest
from signals import db, rows, sine, undb

from automixd.engine import Engine

FS = 48000


def _engine(n: int, fs: int = FS, channel: dict | None = None, group: dict | None = None,
            pan: float = -1.0) -> Engine:
    """n channels in automix group 1, hard left (unity to the left output),
    no high-pass, no limiter: the left output is the automixed sum."""
    ch = {str(i): {"hpf": {"on": False}, "pan": pan, "automix": {"group": "1"}} for i in range(1, n + 1)}
    for key, extra in (channel or {}).items():
        ch[key]["automix"].update(extra)
    return Engine.from_scene({"sample_rate": fs, "channels": n, "ch": ch,
                              "bus": {"main": {"limiter": {"on": False}}},
                              "automix": {"1": group or {}}})


def _noise(n_ch: int, seconds: float, seed: int = 1, level_db: float = -26.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n_ch, int(seconds * FS))) * undb(level_db)).astype(np.float32)


def _settled_gains(eng: Engine, x: np.ndarray, warm_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Automix power gains (dB) over everything after ``warm_s``, and the left output."""
    k = int(warm_s * FS)
    eng.process(x[:, :k])
    eng.telemetry()
    y = eng.process(x[:, k:])
    return eng.telemetry()["automix_gain_db"], y[0, eng.latency:]


@pytest.mark.parametrize("n", [2, 4, 8, 16, 64])
def test_rest_gains_are_minus_10_log_n_and_output_power_is_one_input(n: int) -> None:
    # N equal uncorrelated noise inputs at rest: every gain settles at
    # -10 log10 N (sum of squared gains = 1), so the summed output has the
    # power of one input: the room's ambience stays constant.
    x = _noise(n, 3.0, seed=n)
    gains, y = _settled_gains(_engine(n), x)
    np.testing.assert_allclose(gains, -10.0 * np.log10(n), atol=0.25)
    one_input = np.mean(x[0, FS:].astype(float) ** 2)
    assert abs(10.0 * np.log10(np.mean(y.astype(float) ** 2) / one_input)) <= 0.5


def test_one_source_on_two_mics_gets_minus_6_db_each_and_no_bump() -> None:
    # The same talker heard equally on two mics (coherent): the summed control
    # signal is 6 dB above each mic, so each gain is -6.02 dB and the output
    # equals the source (a gated mixer or a power-sum estimator would give
    # -3 dB each and a +3 dB bump).
    src = _noise(1, 3.0)[0]
    x = rows(src, src)
    gains, y = _settled_gains(_engine(2), x)
    np.testing.assert_allclose(gains, -6.02, atol=0.25)
    assert abs(db(np.sqrt(np.mean(y.astype(float) ** 2) / np.mean(src[FS:].astype(float) ** 2)))) <= 0.25


def test_incoherent_option_gives_the_power_sum_figures() -> None:
    # With the control level as the power sum of the members, the same
    # coherent pair gets -3.01 dB each and the output rises 3 dB: the
    # documented trade-off of that option.
    src = _noise(1, 3.0)[0]
    gains, y = _settled_gains(_engine(2, group={"sum": "incoherent"}), rows(src, src))
    np.testing.assert_allclose(gains, -3.01, atol=0.25)
    assert abs(db(np.sqrt(np.mean(y.astype(float) ** 2) / np.mean(src[FS:].astype(float) ** 2))) - 3.01) <= 0.25


def test_level_difference_is_kept_between_gains() -> None:
    # Two uncorrelated talkers, one 3 dB louder: the gain difference equals
    # the level difference (G1 - G2 = 3.01 dB), at -1.76 / -4.77 dB.
    x = _noise(2, 3.0)
    x[0] *= undb(3.0)
    gains, _ = _settled_gains(_engine(2), x)
    np.testing.assert_allclose(gains, [-1.76, -4.77], atol=0.25)


@pytest.mark.parametrize("n, weight_db, expected", [(2, 6.0, (-0.97, -6.97)), (8, 6.0, (-4.41, -10.41))])
def test_weight_shifts_the_balance(n: int, weight_db: float, expected: tuple[float, float]) -> None:
    # Weight +w dB on one of N equal inputs at rest: g1^2 = W / (W + N - 1),
    # the others 1 / (W + N - 1), with W = 10^(w/10).
    gains, _ = _settled_gains(_engine(n, channel={"1": {"weight_db": weight_db}}), _noise(n, 3.0))
    assert abs(gains[0] - expected[0]) <= 0.25
    np.testing.assert_allclose(gains[1:], expected[1], atol=0.25)


def test_gains_never_exceed_unity_and_the_talker_opens() -> None:
    # One talker, the other mics near silent: the talker's gain clamps at
    # 0 dB (never above), the others fall to their share (about -46 dB for a
    # mic 46 dB down).
    x = _noise(3, 3.0)
    x[1:] *= undb(-46.0)
    eng = _engine(3)
    gains, _ = _settled_gains(eng, x)
    assert -0.25 <= gains[0] <= 1e-9
    np.testing.assert_allclose(gains[1:], -46.0, atol=1.0)
    assert eng.plan.ch_st.max() < np.inf  # nothing blew up


def test_two_oscillators_2_hz_apart_beat_between_full_and_minus_6() -> None:
    # D-3 bench test: 1000 Hz and 1002 Hz at -20 dBFS on two channels. The
    # control sum beats at 2 Hz between +6 dB (both gains -6 dB) and
    # cancellation (both gains rise to full). A detector fast enough to follow
    # a 2 Hz beat (5 ms attack, 20 ms release, in talk and near the noise
    # floor alike: at each cancellation the control sum sinks to its floor)
    # shows it; gains measured in 10 ms windows.
    t = np.arange(4 * FS) / FS
    x = rows(undb(-20.0) * np.sin(2 * np.pi * 1000.0 * t), undb(-20.0) * np.sin(2 * np.pi * 1002.0 * t))
    eng = _engine(2, group={"detector_release_ms": 20.0, "ambience_attack_ms": 5.0,
                            "ambience_release_ms": 20.0})
    eng.process(x[:, :FS])
    eng.telemetry()
    g = []
    for i in range(FS, 4 * FS, FS // 100):
        eng.process(x[:, i:i + FS // 100])
        g.append(eng.telemetry()["automix_gain_db"][0])
    g = np.array(g)
    assert g.max() >= -1.0, "gains should rise to full when the control sum cancels"
    assert -7.0 <= g.min() <= -5.0, "gains should fall to -6 dB when the waves add"
    spectrum = np.abs(np.fft.rfft(g - g.mean()))
    beat_hz = np.argmax(spectrum) / (g.size * 0.01)
    assert abs(beat_hz - 2.0) <= 0.1


def test_mute_fades_over_half_a_second_and_the_others_rise() -> None:
    # Muting one of four at rest: its contribution fades out over 0.5 s
    # (half way after 250 ms, gone after 500 ms plus the 10 ms glide), it
    # leaves the control bus, and the other three rise to -10 log10 3.
    n = 4
    x = _noise(n, 4.0)
    eng = _engine(n)
    eng.process(x[:, :FS])
    eng.telemetry()
    eng.set("ch.1.automix.mode", "mute")
    quarter = FS // 4
    eng.process(x[:, FS:FS + quarter - FS // 100])
    eng.telemetry()
    eng.process(x[:, FS + quarter - FS // 100:FS + quarter + FS // 100])
    mid = eng.telemetry()["automix_gain_db"][0]
    eng.process(x[:, FS + quarter + FS // 100:FS + FS // 2 + FS // 20])
    eng.telemetry()
    gains, _ = _settled_gains_after(eng, x[:, FS + FS // 2 + FS // 20:])
    # at 250 ms the mode crossfade is half way: gain ~ half of its -6 dB share
    assert abs(mid - (-6.02 + db(0.5))) <= 1.0
    assert gains[0] <= -60.0
    np.testing.assert_allclose(gains[1:], -10.0 * np.log10(3), atol=0.25)


def _settled_gains_after(eng: Engine, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    eng.process(x[:, :FS])
    eng.telemetry()
    y = eng.process(x[:, FS:])
    return eng.telemetry()["automix_gain_db"], y


def test_manual_mode_is_unity_and_leaves_the_control_bus() -> None:
    # A channel in manual sits at 0 dB and does not take part in the sharing:
    # the other two share as a group of two (-3.01 dB each).
    gains, _ = _settled_gains(_engine(3, channel={"1": {"mode": "manual"}}), _noise(3, 3.0))
    assert abs(gains[0]) <= 1e-6
    np.testing.assert_allclose(gains[1:], -3.01, atol=0.25)


def test_groups_are_independent() -> None:
    # Two groups of two: each shares within itself (-3.01 dB), regardless of
    # how loud the other group is.
    x = _noise(4, 3.0)
    x[2:] *= undb(10.0)
    ch = {str(i): {"hpf": {"on": False}, "pan": -1.0, "automix": {"group": "1" if i <= 2 else "2"}}
          for i in range(1, 5)}
    eng = Engine.from_scene({"sample_rate": FS, "channels": 4, "ch": ch,
                             "bus": {"main": {"limiter": {"on": False}}}})
    gains, _ = _settled_gains(eng, x)
    np.testing.assert_allclose(gains, -3.01, atol=0.25)


@pytest.mark.parametrize("mode", ["share", "gate"])
@pytest.mark.parametrize("fs", [44100, 48000, 96000])
def test_automix_output_does_not_depend_on_block_size(fs: int, mode: str) -> None:
    # Gains run per sample, so blocks of 32, 65 and 1024 frames give the
    # same output within 1e-6 (talkers taking turns over a noise floor), in
    # both modes and with a channel ducked under the group.
    n = 3
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((n, fs)) * undb(-50.0)).astype(np.float32)
    for i in range(n):
        a, b = int(i * fs / 3), int((i + 1) * fs / 3)
        x[i, a:b] += sine(200.0 * (i + 1), b - a, fs, undb(-12.0))
    outs = []
    for block in (32, 65, 1024):
        eng = _engine(n, fs=fs, pan=0.0, group={"mode": mode})
        eng.set("ch.3.automix.group", "none")
        eng.set("ch.3.duck.group", "1")
        y = np.concatenate([eng.process(x[:, i:i + block]) for i in range(0, fs, block)], axis=1)
        outs.append(y)
    for y in outs[1:]:
        assert np.max(np.abs(y - outs[0])) <= 1e-6


@pytest.mark.parametrize("n", [3, 12, 40])
def test_tiled_and_per_sample_paths_give_the_same_samples(n: int) -> None:
    # Settled gain sharing runs its detectors and gain glides on tiles of
    # channels between share ticks; a duck anywhere sends every channel down
    # the per-sample path. A muted extra channel ducked under the group
    # changes nothing the group hears, so the group's output and gains must
    # be the same to the bit either way (partial tiles, a quad of tiles, and
    # blocks of 100 frames, off the ticks' 8-sample grid).
    rng = np.random.default_rng(n)
    t = np.arange(2 * FS) / FS
    env = np.array([np.maximum(np.sin(2 * np.pi * (0.7 + 0.3 * i) * t + i), 0.0) for i in range(n)])
    x = np.vstack([rng.standard_normal((n, 2 * FS)) * undb(-20.0) * env + rng.standard_normal((n, 2 * FS))
                   * undb(-60.0), np.zeros((1, 2 * FS))]).astype(np.float32)
    outs, gains = [], []
    for duck in (False, True):
        eng = _engine(n + 1)
        eng.set(f"ch.{n + 1}.automix.group", "none")
        eng.set(f"ch.{n + 1}.mute", True)
        if duck:
            eng.set(f"ch.{n + 1}.duck.group", "1")
        outs.append(np.concatenate([eng.process(x[:, i:i + 100]) for i in range(0, 2 * FS, 100)], axis=1))
        gains.append(eng.telemetry()["automix_gain_db"][:n])
    assert np.max(np.abs(outs[0][0])) > undb(-30.0), "the group is heard"
    assert np.array_equal(outs[0], outs[1])
    assert np.array_equal(gains[0], gains[1])


def test_chair_override_brings_the_chair_up_and_mutes_the_rest() -> None:
    # Override engaged on a group of four at rest with channel 1 as chair:
    # over the 0.5 s fade the chair goes to full (0 dB) and the others to the
    # override depth (muted by default); released, the sharing resumes.
    n = 4
    x = _noise(n, 6.0)
    eng = _engine(n, channel={"1": {"chair": True}})
    eng.process(x[:, :FS])
    eng.set("automix.1.override", True)
    gains, _ = _settled_gains_after(eng, x[:, FS:3 * FS])
    assert abs(gains[0]) <= 0.05
    assert np.all(gains[1:] <= -60.0)
    eng.set("automix.1.override", False)
    gains, _ = _settled_gains_after(eng, x[:, 3 * FS:6 * FS])
    np.testing.assert_allclose(gains, -6.02, atol=0.25)


@pytest.mark.parametrize("hold", [False, True])
def test_last_mic_hold_keeps_the_last_talker_up(hold: bool) -> None:
    # A talker on channel 2 for 1.5 s (the others 30 dB down), then all three
    # mics carry the same room noise. Once the detectors have let go (400 ms
    # release: 30 dB in about 3 s), without hold channel 2 is back at its
    # rest share (-4.77 dB); with hold it stays at full while nobody talks.
    n = 3
    x = _noise(n, 7.0, level_db=-50.0)
    x[1, :int(1.5 * FS)] = _noise(1, 1.5, seed=9, level_db=-20.0)[0]
    eng = _engine(n, group={"last_mic_hold": hold})
    eng.process(x[:, :5 * FS])
    eng.telemetry()
    eng.process(x[:, 5 * FS:])
    gains = eng.telemetry()["automix_gain_db"]
    if hold:
        assert abs(gains[1]) <= 0.1
    else:
        assert abs(gains[1] - (-4.77)) <= 0.25
    np.testing.assert_allclose(gains[[0, 2]], -4.77, atol=0.25)


def test_nom_limit_scales_manual_members_to_the_limit() -> None:
    # Two members in manual sit at unity (two open mics). A NOM limit of 1
    # scales both so their squared gains add up to 1: -3.01 dB each.
    eng = _engine(2, channel={"1": {"mode": "manual"}, "2": {"mode": "manual"}},
                  group={"nom_limit": 1.0})
    gains, _ = _settled_gains(eng, _noise(2, 2.0))
    np.testing.assert_allclose(gains, -3.01, atol=0.05)


def test_music_bed_ducks_under_the_voices() -> None:
    # Two voices in group 1 and a music bed (channel 3) ducked under it by
    # 12 dB: while a voice talks the bed sits at -12 dB (+-0.25), after the
    # voices stop it stays down for the hold (500 ms) and comes back to 0 dB
    # with the release (600 ms time constant: within 0.05 dB 4 s later).
    x = _noise(3, 8.0, level_db=-70.0)
    x[0, :2 * FS] = _noise(1, 2.0, seed=4, level_db=-20.0)[0]
    x[2] = _noise(1, 8.0, seed=8, level_db=-30.0)[0]
    ch = {"1": {"hpf": {"on": False}, "automix": {"group": "1"}},
          "2": {"hpf": {"on": False}, "automix": {"group": "1"}},
          "3": {"hpf": {"on": False}, "duck": {"group": "1", "depth_db": -12.0}}}
    eng = Engine.from_scene({"sample_rate": FS, "channels": 3, "ch": ch,
                             "bus": {"main": {"limiter": {"on": False}}}})
    eng.process(x[:, :FS // 2])
    eng.telemetry()
    eng.process(x[:, FS // 2:2 * FS])
    talking = eng.telemetry()
    assert abs(talking["duck_gain_db"][2] - (-12.0)) <= 0.25
    assert talking["duck_gain_db"][0] == 0.0  # voices are not ducked
    eng.process(x[:, 2 * FS:2 * FS + FS // 2 - FS // 20])
    held = eng.telemetry()["duck_gain_db"][2]
    assert held <= -11.0, "still down during the hold"
    eng.process(x[:, 2 * FS + FS // 2 - FS // 20:6 * FS])
    eng.telemetry()
    eng.process(x[:, 6 * FS:])
    assert abs(eng.telemetry()["duck_gain_db"][2]) <= 0.05


# -- gating mode ----------------------------------------------------------------------------------
def _gated(n: int, group: dict | None = None, channel: dict | None = None) -> Engine:
    return _engine(n, group={"mode": "gate", **(group or {})}, channel=channel)


def _room(n: int, seconds: float) -> np.ndarray:
    return _noise(n, seconds, seed=21, level_db=-60.0)


def _window_gains(eng: Engine, x: np.ndarray, start_s: float, stop_s: float) -> np.ndarray:
    eng.process(x[:, :int(start_s * FS)])
    eng.telemetry()
    eng.process(x[:, int(start_s * FS):int(stop_s * FS)])
    return eng.telemetry()["automix_gain_db"]


@pytest.mark.parametrize("talkers", [1, 2, 4])
def test_gate_noma_gives_minus_10_log_nom(talkers: int) -> None:
    # NOMA: with NOM mics open each open mic sits at -10 log10 NOM (Shure
    # gain-change formula); closed mics at the off attenuation (-15 dB).
    n = 6
    x = _room(n, 4.0)
    for i in range(talkers):
        x[i, FS:] += _noise(1, 3.0, seed=30 + i, level_db=-20.0)[0]
    gains = _window_gains(_gated(n, group={"max_nom": 6}), x, 2.0, 4.0)
    np.testing.assert_allclose(gains[:talkers], -10.0 * np.log10(talkers), atol=0.25)
    np.testing.assert_allclose(gains[talkers:], -15.0, atol=0.25)


def test_gate_max_nom_opens_at_most_that_many_by_priority() -> None:
    # Four talkers at once with max_nom 2: only two open; channel 4 has the
    # higher priority so it is one of them.
    n = 4
    x = _room(n, 4.0)
    for i in range(n):
        x[i, FS:] += _noise(1, 3.0, seed=40 + i, level_db=-20.0)[0]
    gains = _window_gains(_gated(n, group={"max_nom": 2}, channel={"4": {"priority": 2}}), x, 2.0, 4.0)
    assert int(np.sum(gains > -4.0)) == 2
    assert abs(gains[3] - (-3.01)) <= 0.25
    assert np.sum(np.abs(gains - (-15.0)) <= 0.25) == 2


def test_gate_hold_then_close() -> None:
    # A talker stops: the mic stays open for the hold (400 ms) plus the
    # detector's fall (under 80 ms), then closes to the off attenuation
    # with the gate release (150 ms time constant: within 0.2 dB after 1.5 s).
    n = 2
    x = _room(n, 4.0)
    x[0, FS:2 * FS] += _noise(1, 1.0, seed=50, level_db=-20.0)[0]
    eng = _gated(n, group={"last_mic_on": False})
    eng.process(x[:, :2 * FS])
    eng.telemetry()
    g = []
    for i in range(2 * FS, 4 * FS, FS // 100):
        eng.process(x[:, i:i + FS // 100])
        g.append(eng.telemetry()["automix_gain_db"][0])
    g = np.array(g)
    t_close = np.argmax(g < -0.5) * 10.0  # ms after the talker stopped
    assert 400.0 <= t_close <= 480.0
    assert g[-1] <= -14.8


def test_gate_last_mic_lock_on() -> None:
    # With lock-on the last mic opened stays open (at full, NOM = 1) after the
    # talker stops; the others stay at the off attenuation.
    n = 3
    x = _room(n, 5.0)
    x[1, FS:2 * FS] += _noise(1, 1.0, seed=60, level_db=-20.0)[0]
    gains = _window_gains(_gated(n), x, 3.5, 5.0)
    assert abs(gains[1]) <= 0.05
    np.testing.assert_allclose(gains[[0, 2]], -15.0, atol=0.25)


def test_gate_one_mic_per_source() -> None:
    # One talker heard on two mics, 6 dB lower on the second: only the louder
    # mic opens (the quieter is outside gate_maxbus_db of the loudest).
    n = 2
    x = _room(n, 4.0)
    src = _noise(1, 3.0, seed=70, level_db=-20.0)[0]
    x[0, FS:] += src
    x[1, FS:] += src * undb(-6.0)
    gains = _window_gains(_gated(n), x, 2.0, 4.0)
    assert abs(gains[0]) <= 0.1
    assert abs(gains[1] - (-15.0)) <= 0.25


def test_gate_always_on_is_open_and_counted_in_noma() -> None:
    # An always-on mic is open even when silent and is not limited by
    # max_nom; with one talker open too, NOM is 2: both at -3.01 dB.
    n = 3
    x = _room(n, 4.0)
    x[0, FS:] += _noise(1, 3.0, seed=80, level_db=-20.0)[0]
    gains = _window_gains(_gated(n, group={"max_nom": 1}, channel={"3": {"always_on": True}}), x, 2.0, 4.0)
    np.testing.assert_allclose(gains[[0, 2]], -3.01, atol=0.25)
    assert abs(gains[1] - (-15.0)) <= 0.25


def test_a_bus_ducks_under_the_voices() -> None:
    # A stereo "bed" bus fed by the music channel (not on the main bus) ducks
    # 12 dB under the voices of group 1 and comes back after they stop.
    x = _noise(3, 8.0, level_db=-70.0)
    x[0, :2 * FS] = _noise(1, 2.0, seed=4, level_db=-20.0)[0]
    x[2] = _noise(1, 8.0, seed=8, level_db=-30.0)[0]
    ch = {"1": {"hpf": {"on": False}, "automix": {"group": "1"}},
          "2": {"hpf": {"on": False}, "automix": {"group": "1"}},
          "3": {"hpf": {"on": False}, "main_on": False, "send": {"bed": {"level_db": 0.0}}}}
    eng = Engine.from_scene({"sample_rate": FS, "channels": 3, "ch": ch,
                             "bus": {"main": {"limiter": {"on": False}},
                                     "bed": {"limiter": {"on": False}, "duck": {"group": "1"}}}})
    eng.process(x[:, :FS // 2])
    eng.telemetry()
    eng.process(x[:, FS // 2:2 * FS])
    assert abs(eng.telemetry()["bus_duck_gain_db"][1] - (-12.0)) <= 0.25
    eng.process(x[:, 2 * FS:6 * FS])
    eng.telemetry()
    y = eng.process(x[:, 6 * FS:])
    assert abs(eng.telemetry()["bus_duck_gain_db"][1]) <= 0.05
    # and the bed's audio is the music at unity again (centre pan: -3.01 dB per side)
    bed = y[eng.bus_rows("bed")][0, eng.latency:].astype(float)
    ref = x[2, 6 * FS:6 * FS + bed.size].astype(float) * 10 ** (-3.0103 / 20)
    assert abs(db(np.sqrt(np.mean(bed ** 2) / np.mean(ref ** 2)))) <= 0.05


@pytest.mark.parametrize("n", [2, 4, 8])
def test_room_noise_alone_is_not_talking(n: int) -> None:
    # N mics on the same room noise sit at their rest share; none of them
    # is flagged as talking (the threshold is at least 3 dB above the rest
    # share). One talker over the noise is.
    x = _noise(n, 4.0, level_db=-50.0)
    eng = _engine(n)
    eng.process(x[:, :2 * FS])
    eng.telemetry()
    eng.process(x[:, 2 * FS:])
    assert eng.telemetry()["talking"].sum() == 0
    x[0, :] += _noise(1, 4.0, seed=99, level_db=-20.0)[0]
    eng = _engine(n)
    eng.process(x[:, :2 * FS])
    eng.telemetry()
    eng.process(x[:, 2 * FS:])
    t = eng.telemetry()["talking"]
    assert t[0] == 1.0 and t[1:].sum() == 0


# -- slope, room noise, the next talker ----------------------------------------------


@pytest.mark.parametrize("slope", [1.0, 2.0, 3.0])
def test_slope_multiplies_the_level_difference_and_keeps_the_power(slope: float) -> None:
    # Two uncorrelated inputs 3.01 dB apart: g_i^2 = P_i^s / sum P^s, so the
    # gains differ by s x 3.01 dB and their squares still add up to 1 (the
    # output keeps the power it has at slope 1). s = 2: -0.97 / -6.99 dB.
    x = _noise(2, 4.0, seed=5)
    x[0] *= np.float32(undb(3.0103))
    gains, _ = _settled_gains(_engine(2, group={"slope": slope}), x)
    w = 2.0 ** slope
    np.testing.assert_allclose(gains, db(np.sqrt([w / (w + 1.0), 1.0 / (w + 1.0)])), atol=0.25)
    assert abs(10.0 * np.log10(np.sum(10.0 ** (gains / 10.0)))) <= 0.25


@pytest.mark.parametrize("slope", [2.0, 4.0])
def test_slope_leaves_the_rest_gains_and_the_coherent_pair(slope: float) -> None:
    # Equal members are shared as at slope 1: -10 log10 N at rest, and -6 dB
    # each for one source on two mics (no +3 dB bump).
    gains, _ = _settled_gains(_engine(4, group={"slope": slope}), _noise(4, 3.0, seed=6))
    np.testing.assert_allclose(gains, -6.02, atol=0.25)
    src = _noise(1, 3.0, seed=7)[0]
    gains, _ = _settled_gains(_engine(2, group={"slope": slope}), rows(src, src))
    np.testing.assert_allclose(gains, -6.02, atol=0.25)


def _room_noise(n_ch: int, seconds: float, seed: int, level_db: float) -> np.ndarray:
    """HVAC-like room noise: independent per mic, pink-ish and low-passed (one-pole
    low-passes at 100 and 400 Hz on white noise), ``level_db`` RMS."""
    from scipy import signal

    w = np.random.default_rng(seed).standard_normal((n_ch, int(seconds * FS)))
    for fc in (100.0, 400.0):
        a = np.exp(-2.0 * np.pi * fc / FS)
        w = signal.lfilter([1.0 - a], [1.0, -a], w, axis=1)
    w *= undb(level_db) / np.sqrt(np.mean(w ** 2, axis=1, keepdims=True))
    return w.astype(np.float32)


@pytest.mark.parametrize("n,slope,silence_s", [(4, 1.0, 0.0), (4, 2.0, 0.0), (8, 2.0, 0.0),
                                               (4, 2.0, 3.0)])
def test_room_noise_alone_never_brings_a_mic_near_full(n: int, slope: float,
                                                       silence_s: float) -> None:
    # Low-frequency room noise fluctuates slowly and strongly; on a detector
    # that follows it (5 ms attack), a mic's share reached -1.6 dB here. Near
    # their noise floors the detectors average (ambience ballistics), so over
    # 30 s no member comes within 3 dB of full (a "false open"), gains in 10 ms
    # windows from 1 s on; also when the noise follows digital silence (a
    # muted preamp), from 2 s after it starts.
    lead = int(silence_s * FS)
    x = np.concatenate([np.zeros((n, lead), np.float32),
                        _room_noise(n, 31.0, seed=n, level_db=-50.0)], axis=1)
    start = lead + (2 * FS if lead else FS)
    eng = _engine(n, group={"slope": slope})
    eng.process(x[:, :start])
    eng.telemetry()
    top = -np.inf
    for i in range(start, x.shape[1] - FS // 100 + 1, FS // 100):
        eng.process(x[:, i:i + FS // 100])
        top = max(top, float(eng.telemetry()["automix_gain_db"].max()))
    assert top < -3.0, f"loudest 10 ms gain {top:.2f} dB"


def _talk(seconds: float, seed: int) -> np.ndarray:
    """A talker's stand-in: noise in 180 ms syllables with 60 ms pauses, -20 dBFS."""
    n = int(seconds * FS)
    env = (np.arange(n) % int(0.24 * FS)) < int(0.18 * FS)
    return (_noise(1, seconds, seed=seed, level_db=-20.0)[0] * env).astype(np.float32)


@pytest.mark.parametrize("slope", [1.0, 2.0])
def test_the_next_talker_opens_within_10_ms(slope: float) -> None:
    # Two talkers, each 6 dB louder on their own mic than on the other (bleed
    # 1 ms later), over room noise 30 dB down. Talker 1 speaks for 3 s, then
    # 150 ms later talker 2 starts: its gain is within 3 dB of its final value
    # (median 100..400 ms later) 10 ms after its first syllable starts, and
    # 50 ms after, talker 2's mic is at least 3 dB above talker 1's (whose
    # detector still releases). Gains per 1 ms block.
    d = FS // 1000
    a, b = _talk(3.0, 11), _talk(3.0, 12)
    start2 = int(3.65 * FS)
    n = start2 + b.size
    src = np.zeros((2, n), np.float32)
    src[0, FS // 2:FS // 2 + a.size] = a
    src[1, start2:] = b
    x = _room_noise(2, n / FS, seed=3, level_db=-50.0)
    x += src
    x[1, d:] += np.float32(undb(-6.0)) * src[0, :-d]
    x[0, d:] += np.float32(undb(-6.0)) * src[1, :-d]
    eng = _engine(2, group={"slope": slope})
    eng.process(x[:, :start2 - FS // 10])
    eng.telemetry()
    g = []
    for i in range(start2 - FS // 10, start2 + int(0.4 * FS), d):
        eng.process(x[:, i:i + d])
        g.append(eng.telemetry()["automix_gain_db"])
    g = np.array(g)  # (ms, channel), row 100 = talker 2's onset
    final = np.median(g[200:500], axis=0)
    assert g[110, 1] >= final[1] - 3.0, f"talker 2 at {g[110, 1]:.1f} dB 10 ms in, final {final[1]:.1f}"
    assert g[150, 1] - g[150, 0] >= 3.0, f"50 ms in: talker 2 {g[150, 1]:.1f}, talker 1 {g[150, 0]:.1f} dB"
    assert final[1] - final[0] >= 6.0 * slope - 1.0


@pytest.mark.parametrize("mode", ["share", "gate"])
def test_leading_digital_silence_leaves_no_trace(mode: str) -> None:
    # Time invariance: the same talk after 0.3 s or after 1.7 s of digital
    # silence (a player that starts late, JACK cycles missed meanwhile) comes
    # out the same, sample for sample: nothing in the automixer counts time
    # while every input is exactly zero. The lengths differ by a whole number
    # of the shares' 8-sample grid.
    talk = np.zeros((2, 5 * FS), np.float32)  # 2 s of room noise, then two talkers
    talk[:, 2 * FS:] = np.stack([_talk(3.0, 21), _talk(3.0, 22)]) * np.float32(0.5)
    talk += _room_noise(2, 5.0, seed=23, level_db=-50.0)
    outs = []
    for lead_s in (0.3, 1.7):
        lead = int(lead_s * FS)
        x = np.concatenate([np.zeros((2, lead), np.float32), talk], axis=1)
        eng = _engine(2, group={"slope": 2.0, "mode": mode})
        outs.append(eng.process(x)[:, lead:])
    np.testing.assert_allclose(outs[0], outs[1], rtol=0.0, atol=1e-7)
