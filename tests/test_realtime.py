"""The real-time cycle without a server: pointer tables, plan swaps, master fade.

``run_cycle`` is what both live callbacks run; here it is driven from
Python with the physical buffers filled by hand, so every sample can be
compared with the offline engine.
"""

import numpy as np
import pytest
from signals import db, rms, sine

from automixd.engine import Engine, Scene
from automixd.engine import realtime as R
from automixd.engine.live import LiveEngine, PortLayout

FS = 48000


def _scene(**values):
    data = {"channels": 2, "ch": {"1": {"name": "Host", "eq": {"on": True, "1": {"type": "peak",
            "freq_hz": 1000, "gain_db": 6.0, "q": 1.0}}}, "2": {"name": "Guest"}}}
    for key, value in values.items():
        node = data
        *path, leaf = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[leaf] = value
    return Scene.from_dict(data)


def _drive(live: LiveEngine, x: np.ndarray, period: int) -> np.ndarray:
    """Feed ``x`` (inputs, frames) through run_cycle in periods; return phys outputs in use."""
    n_out = int(live.root[R.R_N_OUT])
    out = np.zeros((n_out, x.shape[1]), dtype=np.float32)
    n_in = int(live.root[R.R_N_IN])
    for start in range(0, x.shape[1], period):
        n = min(period, x.shape[1] - start)
        live.phys_in[:n_in, :n] = x[:n_in, start:start + n]
        R.run_cycle(live.root, live.phys_in[:n_in], live.phys_out[:n_out], n)
        out[:, start:start + n] = live.phys_out[:n_out, :n]
    return out


def _input(seconds=0.5, seed=1):
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    x = np.zeros((2, n), dtype=np.float32)
    x[0] = sine(1000.0, n, FS, peak=0.25)
    x[1] = (0.05 * rng.standard_normal(n)).astype(np.float32)
    return x


@pytest.mark.parametrize("period", [16, 64, 128, 1000, 4096])
def test_cycle_equals_offline_engine(period):
    live = LiveEngine(_scene())
    live.set_fade(1.0, 1.0, start_from=1.0)
    x = _input()
    y = _drive(live, x, period)
    ref = Engine(_scene()).process(x)
    assert np.max(np.abs(y - ref)) <= 1e-6


def test_port_layout_names_inputs_after_channels_and_outputs_after_buses():
    scene = Scene.from_dict({"channels": 3, "ch": {"1": {"name": "Host A", "connect": "system:capture_3"},
                                                   "3": {"name": "Music", "input": 5}},
                             "bus": {"monitor": {"channels": 1, "connect": ["system:playback_3"]},
                                     "main": {"connect": ["system:playback_1"]}}})
    layout = PortLayout.of(scene)
    assert layout.inputs == ("in01_Host_A", "in02_Ch_2", "in03", "in04", "in05_Music")
    assert layout.outputs == ("main_L", "main_R", "monitor")
    assert layout.input_connect[0] == ("system:capture_3",)
    assert layout.output_connect == ("system:playback_1", "", "system:playback_3")


def test_master_fade_in_is_a_linear_ramp():
    scene = Scene.from_dict({"channels": 1})
    live = LiveEngine(scene)
    live.set_fade(1.0, 10.0, start_from=0.0)
    x = sine(1000.0, 2048, FS, peak=0.5)[None, :]
    y = _drive(live, x, 64)
    ref = Engine(scene).process(x)
    # a straight line from 0 to full over 10 ms (480 samples), then unity
    ramp = np.minimum(1.0, np.arange(1, 2049) / 480.0)
    assert np.max(np.abs(y - ref * ramp)) <= 1e-6


def _swap(live: LiveEngine, scene: Scene) -> None:
    plan, layout = live.prepare(scene)
    live.root[R.R_WARM] = int(0.050 * FS)
    live.root[R.R_XFADE] = int(0.020 * FS)
    live.root[R.R_N_OUT] = max(live.root[R.R_N_OUT], max(live.output_slots().values()) + 1)
    live.root[R.R_NEXT] = plan.address
    live._retired.append(live._plan)
    live._plan = plan


@pytest.mark.parametrize("period", [64, 256])
def test_plan_swap_crossfades_without_a_click(period):
    """Old plan at 0 dB, new plan at -6 dB with an extra bus: the level glides, no step."""
    live = LiveEngine(_scene())
    live.set_fade(1.0, 1.0, start_from=1.0)
    x = _input(1.0)
    x[1] = 0.0
    n_pre = 12_000
    y1 = _drive(live, x[:, :n_pre], period)
    new = _scene(**{"ch.1.fader_db": -6.0, "bus.monitor.channels": 1})
    _swap(live, new)
    swaps = int(live.root[R.R_SWAPS])
    y2 = _drive(live, x[:, n_pre:], period)
    assert live.root[R.R_SWAPS] == swaps + 1 and live.root[R.R_NEXT] == 0
    y = np.concatenate([y1[:2], y2[:2]], axis=1)[0]
    # before: the old gain; after warm-up + crossfade: the new one
    before = db(rms(y[n_pre - 4800:n_pre]))
    after = db(rms(y[n_pre + 4800 + 960 + 2400:]))
    assert after - before == pytest.approx(-6.0, abs=0.1)
    # no discontinuity: the second difference never exceeds a pure sine's (plus margin)
    d2 = np.abs(np.diff(y[n_pre - 2000:], 2))
    steady = np.max(np.abs(np.diff(y[2000:n_pre], 2)))
    assert np.max(d2) <= 1.05 * steady
    # the envelope moves monotonically from one level to the other (no dip, no bump)
    env = np.array([db(rms(y[i:i + 240])) for i in range(n_pre, n_pre + 4800, 240)])
    assert np.all(env <= before + 0.1) and np.all(env >= after - 0.1)


def test_swap_keeps_playing_the_old_plan_until_adopted():
    live = LiveEngine(_scene())
    live.set_fade(1.0, 1.0, start_from=1.0)
    x = _input(0.2)
    ref = Engine(_scene()).process(x)
    _swap(live, _scene(**{"ch.1.fader_db": -20.0}))
    y = _drive(live, x[:, :2048], 64)  # inside the warm-up: only the old plan is heard
    assert np.max(np.abs(y - ref[:, :2048])) <= 1e-6


def test_nan_input_never_reaches_the_ports():
    live = LiveEngine(_scene())
    x = _input(0.1)
    x[0, 1000:1010] = np.nan
    x[1, 2000] = np.inf
    y = _drive(live, x, 64)
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("period", [64, 333])
def test_compiled_stream_callback_equals_offline_engine(period):
    """The PortAudio cfunc itself, called like PortAudio calls it, on interleaved buffers."""
    from automixd.adapters.portaudio_rt import pa_stream

    scene = _scene(**{"ch.1.automix.group": 1, "ch.2.automix.group": 1, "ch.1.comp.on": True,
                      "ch.1.comp.threshold_db": -30.0})
    live = LiveEngine(scene)
    live.set_fade(1.0, 1.0, start_from=1.0)
    live.root[R.R_DEV_IN] = 2
    live.root[R.R_DEV_OUT] = 2
    x = _input(1.0)
    y = np.zeros((2, x.shape[1]), dtype=np.float32)
    for start in range(0, x.shape[1], period):
        n = min(period, x.shape[1] - start)
        inter_in = np.ascontiguousarray(x[:, start:start + n].T)   # (frames, channels)
        inter_out = np.zeros((n, 2), dtype=np.float32)
        assert pa_stream.ctypes(inter_in.ctypes.data, inter_out.ctypes.data, n, None, 0,
                                live.root_address) == 0
        y[:, start:start + n] = inter_out.T
    ref = Engine(scene).process(x)
    assert np.max(np.abs(ref)) > 0.05
    assert np.max(np.abs(y - ref)) <= 1e-6
    assert live.callback_times_ns().size == -(-x.shape[1] // period)
    dur, start, frame, cpu = live.callback_log()  # PortAudio has no frame clock: the engine's frames
    np.testing.assert_array_equal(frame, np.arange(0, x.shape[1], period))
    assert np.all(start[1:] >= start[:-1] + dur[:-1])
    assert not cpu.any()  # the CPU clock is read only on request


@pytest.mark.parametrize("by_position, wedge_slot", [(True, 2), (False, 3)])
def test_renamed_bus_plays_on_its_device_channel_when_outputs_go_by_position(by_position, wedge_slot):
    """PortAudio's device channels are fixed: a renamed aux bus stays on channel 3.
    JACK's outputs go by name: the renamed bus is a new port in a new slot."""
    live = LiveEngine(_scene(**{"bus.monitor.channels": 1, "ch.1.send.monitor.level_db": 0.0}),
                      outputs_by_position=by_position)
    live.set_fade(1.0, 1.0, start_from=1.0)
    x = _input(1.0)
    x[1] = 0.0
    before = db(rms(_drive(live, x[:, :12_000], 64)[2, 4800:]))
    _swap(live, _scene(**{"bus.wedge.channels": 1, "ch.1.send.wedge.level_db": 0.0}))
    assert live.output_slots()["wedge"] == wedge_slot
    y = _drive(live, x[:, 12_000:], 64)
    after = slice(4800 + 960 + 2400, None)  # past the warm-up and the crossfade
    assert before > -20.0
    assert db(rms(y[wedge_slot, after])) == pytest.approx(before, abs=0.1)
    if not by_position:  # the old port falls silent with the old plan
        assert np.max(np.abs(y[2, after])) == 0.0
