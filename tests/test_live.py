"""The live daemon on a real JACK server (dummy backend), driven as clients drive it.

Each test starts ``automixd run`` as a subprocess and talks to it through
JACK ports (feeder and recorder clients), signals and its log. Comparisons
with the offline engine run the server in freewheel mode, where no period
can be missed, and align the two by the JACK frame of the daemon's first
cycle (which the daemon logs).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

import numpy as np
import pytest
from jackrig import AUTOMIXD, DaemonProc, Player, client, wait_for
from signals import db, noise, rms, sine
from test_cpu_latency import needs_pm_qos, sleeping_idle_entries

from automixd.adapters.jackserver import DummyJackServer, jack_env
from automixd.engine import Engine, Scene

FS = 48000

SCENE = """
sample_rate = 48000
block_size = 64
channels = 3

[ch.1]
name = "Tone"
fader_db = -4.5
[ch.1.hpf]
on = true
freq_hz = 120
[ch.1.eq]
on = true
[ch.1.eq.2]
type = "peak"
freq_hz = 1000
gain_db = 4.0
q = 1.4
[ch.1.comp]
on = true
threshold_db = -30
ratio = 3
[ch.1.automix]
group = 1

[ch.2]
name = "Noise"
[ch.2.automix]
group = 1

[ch.3]
name = "Line"
pan = -0.5
{extra}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # compile both callbacks into the on-disk cache once, here, so each daemon
    # below loads them in a second instead of compiling them (a minute on CI)
    from automixd.adapters import jack_backend, portaudio_backend

    jack_backend.warm_up()
    portaudio_backend.warm_up()
    name = f"amx-test-{os.getpid()}"
    log = tmp_path_factory.mktemp("jackd") / "jackd.log"
    with DummyJackServer(name, rate=FS, period=64, ports=4, log=log) as srv:
        yield srv


@pytest.fixture
def daemon_factory(server, tmp_path):
    started: list[DaemonProc] = []

    def start(text: str, name: str, backend: str = "jack", srv=None,
              extra: list[str] | None = None) -> tuple[DaemonProc, object]:
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        d = DaemonProc((srv or server).name, path, name, tmp_path / f"{name}.log", backend=backend,
                       extra=extra)
        started.append(d)
        return d, path

    yield start
    for d in started:
        d.stop()


def _test_input(seconds: float) -> np.ndarray:
    n = int(seconds * FS)
    x = np.zeros((3, n), dtype=np.float32)
    burst = (np.arange(n) // (FS // 4)) % 2 == 0  # 250 ms on, 250 ms off: the automixer moves
    x[0] = sine(1000.0, n, FS, peak=0.3) * burst
    x[1] = noise(n, seed=7, rms_db=-30.0)
    x[2] = sine(220.0, n, FS, peak=0.2)
    return x


def _ports(c, daemon_name: str, inputs: bool) -> list[str]:
    return [p.name for p in c.get_ports(f"{daemon_name}:", is_input=inputs, is_output=not inputs,
                                        is_audio=True)]


def _wire(player: Player, daemon_name: str) -> None:
    c = player.feed
    ins = _ports(c, daemon_name, inputs=True)
    outs = _ports(c, daemon_name, inputs=False)
    for src, dst in zip(player.outs, ins):
        c.connect(src, dst)
    for src, dst in zip(outs, player.ins):
        c.connect(src, dst)


def _freewheel_run(player: Player, x: np.ndarray, frames_after: int = 4096) -> tuple[int, np.ndarray]:
    try:
        player.freewheel()
        player.play(x)
        wait_for(lambda: player.covered(x.shape[1] + frames_after), 120, "the signal to be recorded")
    finally:
        player.end_freewheel()
    return player.recorded()


def _through(server: str, tag: str, source: str, dest: str, x: np.ndarray) -> np.ndarray:
    """Play one row ``x`` into port ``dest`` and return what port ``source`` gave meanwhile (freewheel)."""
    player = Player(server, 1, 1, tag)
    try:
        player.feed.connect(player.outs[0], dest)
        player.feed.connect(source, player.ins[0])
        _freewheel_run(player, x, frames_after=0)
        return player.during_signal(x.shape[1])
    finally:
        player.close()


# The private-server tests come first: libjack keeps one server per process
# while any client of it is open, and in a full run a client of the shared
# test server could still be open (found: a probe opened on server 'amx-kill-*'
# listed the shared server's ports; one on the auto backend's 'automixd-*'
# listed none).
@contextlib.contextmanager
def _private(tmp_path, tag: str):
    """A private server (2 ports) and a daemon of SCENE on it; the daemon's log on any failure."""
    from automixd.adapters import jack_backend

    jack_backend.warm_up()  # the callback compiled into the cache before the daemon needs it
    name = f"amx-{tag}-{os.getpid()}"
    srv = DummyJackServer(name, rate=FS, period=64, ports=2, log=tmp_path / "jackd.log").start()
    scene = tmp_path / f"{tag}.toml"
    scene.write_text(SCENE.format(extra=""))
    d = DaemonProc(name, scene, f"amx-{tag}", tmp_path / "daemon.log")
    try:
        d.wait_log("running scene")
        # a new client on a loaded server can lag the daemon's port registrations
        c = client(name, f"probe-{tag}")
        try:
            wait_for(lambda: len(_ports(c, f"amx-{tag}", True)) == 3, 20, "daemon ports")
        finally:
            c.close()
        yield srv, d, scene
    except Exception as exc:
        raise AssertionError(f"{exc}\n--- daemon log ---\n{d.log()}") from exc
    finally:
        d.stop()
        srv.stop()


def test_server_killed_and_restarted_restores_ports_and_connections(tmp_path):
    with _private(tmp_path, "kill") as (srv, d, _):
        name = srv.name
        c = client(name, "wire")
        c.connect("system:capture_1", "amx-kill:in01_Tone")
        c.connect("amx-kill:main_L", "system:playback_1")
        c.close()
        time.sleep(1.5)  # the daemon notes its connections every second
        mark = len(d.log())  # before the kill: the daemon may log the loss before we read on
        srv.kill()
        d.wait_log("JACK server went away", 30, after=mark)
        time.sleep(1.0)
        assert d.proc.poll() is None
        srv.start()
        d.wait_log("JACK server is back", 30, after=mark)
        c = client(name, "check")
        peers_in = [p.name for p in c.get_all_connections("amx-kill:in01_Tone")]
        peers_out = [p.name for p in c.get_all_connections("amx-kill:main_L")]
        c.close()
        assert peers_in == ["system:capture_1"] and peers_out == ["system:playback_1"]
        # and audio flows again with the same mix
        x = sine(440.0, FS // 2, FS, peak=0.25)[None, :]
        y = _through(name, "kill", "amx-kill:main_R", "amx-kill:in02_Noise", x)
        assert db(rms(y[0, -FS // 4:])) == pytest.approx(db(0.25 / np.sqrt(2)) - 3.01, abs=0.2)
        assert d.stop() == 0


def test_buffer_size_change_mid_stream_keeps_the_mix(tmp_path):
    """Someone changes JACK's period (64 -> 256 -> 1024) while the daemon runs: same levels."""
    with _private(tmp_path, "bs") as (srv, d, scene):
        name = srv.name
        ref = Engine.from_scene(scene)
        xin = np.zeros((3, FS), dtype=np.float32)
        xin[1] = sine(440.0, FS, FS, peak=0.25)
        expect = db(rms(ref.process(xin)[1, FS // 2:]))
        for period in (256, 1024):
            c = client(name, f"bs-{period}")
            c.blocksize = period
            assert c.blocksize == period  # the server really runs at the new period
            c.close()
            x = sine(440.0, FS // 2, FS, peak=0.25)[None, :]
            y = _through(name, f"bs{period}", "amx-bs:main_R", "amx-bs:in02_Noise", x)
            assert db(rms(y[0, -FS // 4:])) == pytest.approx(expect, abs=0.1), period
        assert d.proc.poll() is None
        assert d.stop() == 0


def test_auto_backend_starts_a_private_dummy_server_when_nothing_else_exists(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JACK_DEFAULT_SERVER"}
    env.update(JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
    scene = tmp_path / "auto.toml"
    scene.write_text(SCENE.format(extra=""))
    log = tmp_path / "auto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([AUTOMIXD, "run", "--scene", str(scene), "--no-meters"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            m = wait_for(lambda: __import__("re").search(r"private JACK server '(automixd-\d+)'",
                                                         log.read_text()), 60, "the private server")
            wait_for(lambda: "first cycle" in log.read_text(), 60, "audio")
            name = m.group(1)
            c = client(name, "probe-auto")
            assert "automixd:main_L" in [p.name for p in c.get_ports("automixd:")]
            c.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
    # the private server went with the daemon
    from automixd.adapters.jackserver import server_running
    assert not server_running(name)


def test_live_output_matches_offline_render(daemon_factory, server):
    """Tone, noise and a line input through EQ, compressor and automix: live == offline within 1e-5."""
    d, path = daemon_factory(SCENE.format(extra="[automix.1]\non = true\n"), "amx-match")
    first = d.first_frame
    c = client(server.name, "probe-match")
    wait_for(lambda: len(_ports(c, "amx-match", False)) == 2, 20, "daemon ports")
    c.close()
    player = Player(server.name, 3, 2, "match")
    try:
        _wire(player, "amx-match")
        x = _test_input(1.5)
        rec_first, y = _freewheel_run(player, x)
    finally:
        player.close()
    # offline: the same engine fed digital silence until the signal's first frame
    preroll = player.start_frame - first
    assert preroll > 0
    total = rec_first - first + y.shape[1]
    xin = np.zeros((3, total), dtype=np.float32)
    xin[:, preroll:preroll + x.shape[1]] = x[:, :total - preroll]
    ref = Engine.from_scene(path).process(xin)[:, rec_first - first:]
    assert np.max(np.abs(ref)) > 0.05  # the comparison is over real signal
    assert np.max(np.abs(y - ref)) <= 1e-5
    # and the automixer really shared: the tone's bursts move the noise channel's gain
    assert rms(y[0]) > 0.01


def test_reload_mid_stream_crossfades_without_a_discontinuity(daemon_factory, server):
    """SIGHUP with a new layout (an extra bus) and -6 dB on the tone: the level glides, no click."""
    d, path = daemon_factory(SCENE.format(extra=""), "amx-reload")
    d.wait_log("first cycle")
    c = client(server.name, "probe-reload")
    wait_for(lambda: len(_ports(c, "amx-reload", False)) == 2, 20, "daemon ports")
    c.close()
    player = Player(server.name, 1, 1, "reload")
    try:
        pc = player.feed
        pc.connect(player.outs[0], "amx-reload:in01_Tone")
        pc.connect("amx-reload:main_L", player.ins[0])
        tone = sine(500.0, FS, FS, peak=0.2)[None, :]  # one second, looped: a whole number of cycles
        player.freewheel()
        player.play(tone, loop=True)
        wait_for(lambda: player.played() > FS, 60, "a second of tone")
        mark = len(d.log())  # before the edit: the watcher may reload before we read on
        path.write_text(SCENE.format(extra="[bus.monitor]\nchannels = 1\n").replace(
            "fader_db = -4.5", "fader_db = -10.5"))
        d.signal(signal.SIGHUP)
        d.wait_log(r"reloaded .*crossfaded", 60, after=mark)
        played = player.played()
        wait_for(lambda: player.played() > played + FS // 2, 60, "half a second after the swap")
        player.end_freewheel()
        _, y = player.recorded()
    finally:
        player.close()
    y = y[0]
    win = 480
    env = db(np.array([rms(y[i:i + win]) for i in range(0, len(y) - win, win)]))
    before, after = np.median(env[:50]), np.median(env[-20:])
    assert after - before == pytest.approx(-6.0, abs=0.15)
    # every 10 ms window sits between the two levels: no dip, no bump, no gap
    settled = env[5:]
    assert np.all(settled <= before + 0.15) and np.all(settled >= after - 0.15)
    # no discontinuity: the second difference never exceeds the steady tone's own
    # (the first second was recorded before the reload was asked for)
    steady = np.max(np.abs(np.diff(y[2000:FS], 2)))
    assert np.max(np.abs(np.diff(y[2000:], 2))) <= 1.05 * steady
    assert "monitor" in " ".join(p.name for p in client(server.name, "probe2").get_ports("amx-reload:"))


def test_broken_scene_on_reload_is_reported_and_the_old_one_keeps_playing(daemon_factory, server):
    d, path = daemon_factory(SCENE.format(extra=""), "amx-broken")
    d.wait_log("first cycle")
    mark = len(d.log())  # before the edit: the watcher may reject it before we read on
    path.write_text(SCENE.format(extra="[ch.1.eq.9]\ngain_db = 99\n").replace("ratio = 3", "ratio = -3"))
    d.signal(signal.SIGHUP)
    m = d.wait_log(r"reload failed, keeping the current scene", 30, after=mark)
    tail = d.log()[mark:]
    assert "ch.1.comp.ratio" in tail and "ch.1.eq.9" in tail
    assert m and d.proc.poll() is None
    x = sine(1000.0, FS // 2, FS, peak=0.1)[None, :]
    y = _through(server.name, "broken", "amx-broken:main_L", "amx-broken:in01_Tone", x)
    # still the old scene's gain: the same tone through an offline engine of the original scene
    ref = Engine.from_scene(Scene.from_dict(__import__("tomllib").loads(SCENE.format(extra=""))))
    xin = np.zeros((3, x.shape[1]), dtype=np.float32)
    xin[0] = x[0]
    expect = db(rms(ref.process(xin)[0, FS // 4:]))
    got = db(rms(y[0, -FS // 4:]))
    assert got == pytest.approx(expect, abs=0.2)


def test_sigterm_stops_cleanly_and_removes_the_client(daemon_factory, server):
    d, _ = daemon_factory(SCENE.format(extra=""), "amx-term")
    d.wait_log("first cycle")
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 5.0
    assert "stopping" in d.log()
    c = client(server.name, "probe-term")
    assert c.get_ports("amx-term:") == []
    c.close()


@needs_pm_qos
def test_cpu_latency_request_is_held_while_running_and_dropped_at_stop(daemon_factory, server):
    d, _ = daemon_factory(SCENE.format(extra=""), "amx-qos", extra=["--cpu-latency-us", "0"])
    d.wait_log("CPU wake-up latency limited to 0 us")
    d.wait_log("first cycle")
    time.sleep(0.05)
    before = sleeping_idle_entries()
    time.sleep(0.5)
    assert sleeping_idle_entries() == before  # the CPUs poll while the daemon runs
    assert d.stop() == 0
    stopped = sleeping_idle_entries()
    wait_for(lambda: sleeping_idle_entries() > stopped, 3.0, "an idle state to be entered again")


def test_portaudio_backend_through_the_jack_host_api(daemon_factory, server):
    """PortAudio's JACK host API: the daemon is a PortAudio duplex stream, same mix."""
    text = SCENE.format(extra="").replace('name = "Tone"\n', 'name = "Tone"\npan = -1.0\n')
    d, path = daemon_factory(text, "amx-pa", backend="portaudio")
    d.wait_log(r"PortAudio stream on")
    c = client(server.name, "probe-pa")
    ins = wait_for(lambda: _ports(c, "amx-pa", True), 20, "PortAudio's JACK ports")
    outs = _ports(c, "amx-pa", False)
    c.close()
    player = Player(server.name, 1, 1, "pa")
    try:
        for p in player.feed.get_all_connections(ins[0]):
            player.feed.disconnect(p, ins[0])
        player.feed.connect(player.outs[0], ins[0])
        player.feed.connect(outs[0], player.ins[0])
        x = sine(1000.0, FS, FS, peak=0.1)[None, :]
        player.play(x, loop=True)
        wait_for(lambda: player.played() > FS, 30, "a second of tone")
        _, y = player.recorded(allow_gaps=True)  # real time: a level, not samples
    finally:
        player.close()
    ref = Engine.from_scene(path)
    xin = np.zeros((3, FS), dtype=np.float32)
    xin[0] = x[0]
    expect = db(rms(ref.process(xin)[0, FS // 2:]))
    assert db(rms(y[0, -FS // 4:])) == pytest.approx(expect, abs=0.2)


def test_scene_connect_keys_wire_the_physical_ports(daemon_factory, server):
    text = (SCENE.format(extra='[bus.main]\nconnect = ["system:playback_1", "system:playback_2"]\n')
            .replace('name = "Noise"\n', 'name = "Noise"\nconnect = ["system:capture_2", "system:capture_9"]\n'))
    d, _ = daemon_factory(text, "amx-wire")
    d.wait_log("first cycle")
    c = client(server.name, "probe-wire")
    try:
        assert [p.name for p in c.get_all_connections("amx-wire:in02_Noise")] == ["system:capture_2"]
        assert [p.name for p in c.get_all_connections("amx-wire:main_L")] == ["system:playback_1"]
        assert [p.name for p in c.get_all_connections("amx-wire:main_R")] == ["system:playback_2"]
    finally:
        c.close()
    # a port the server does not have is reported, and the daemon runs on
    assert "cannot connect system:capture_9 -> amx-wire:in02_Noise" in d.log()
    assert d.proc.poll() is None


def test_systemd_notify_ready_status_and_watchdog(server, tmp_path):
    """Type=notify: READY=1 once audio runs, watchdog pings while cycles advance, STOPPING=1."""
    import socket

    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    scene = tmp_path / "notify.toml"
    scene.write_text(SCENE.format(extra=""))
    d = DaemonProc(server.name, scene, "amx-notify", tmp_path / "notify.log",
                   env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"})
    try:
        got: list[str] = []
        while not any("READY=1" in m for m in got):
            got.append(sock.recv(4096).decode())
        assert "first cycle" in d.log()  # ready only after the audio callback ran
        pings = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:
            pings += "WATCHDOG=1" in sock.recv(4096).decode()
        assert 4 <= pings <= 12  # every WATCHDOG_USEC / 2 = 0.2 s
        d.signal(signal.SIGTERM)
        while True:
            if "STOPPING=1" in sock.recv(4096).decode():
                break
        assert d.stop() == 0
    finally:
        d.stop()
        sock.close()


def test_devices_lists_jack_ports_and_portaudio_devices(server):
    res = subprocess.run([AUTOMIXD, "devices"], env=jack_env(server.name), capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "system:capture_1" in res.stdout and "capture physical" in res.stdout
    assert "PortAudio devices" in res.stdout and "JACK Audio Connection Kit" in res.stdout


def test_callback_log_keeps_each_cycles_start_and_frame_time(server):
    """The compiled callback logs when each cycle's callback started and its JACK frame
    time: consecutive callbacks are one period apart in frames and, on the median, in
    time, and each one starts after the one before it has ended (one thread runs them)."""
    import tomllib

    from automixd.adapters.jack_backend import JackBackend
    from automixd.engine.live import LiveEngine

    live = LiveEngine(Scene.from_dict(tomllib.loads(SCENE.format(extra=""))))
    backend = JackBackend(live, "amx-timing", server.name)
    backend.start()
    try:
        wait_for(lambda: live.cycles > 400, 20, "400 cycles of the in-process client")
        live.time_cpu(True)
        n0 = live.cycles
        wait_for(lambda: live.cycles > n0 + 200, 20, "200 cycles timed on the CPU clock")
        dur, start, frame, cpu = live.callback_log()
    finally:
        backend.stop()
    period = 64
    assert dur.size > 400 and np.all(dur > 0)
    steps = np.diff(frame) % 2**32  # jack_nframes_t wraps
    # a callback delayed past its cycle reads the frame time of the cycle in progress,
    # so on a loaded machine a step can be two periods or none; never backwards
    assert np.all(steps < 2**31)
    assert np.mean(steps == period) > 0.95
    gaps_us = np.diff(start)[steps == period] / 1e3
    assert np.median(gaps_us) == pytest.approx(period / FS * 1e6, rel=0.05)
    assert np.all(start[1:] >= start[:-1] + dur[:-1])
    # the thread's CPU time within a callback can't exceed its duration; off, it reads 0
    timed = cpu > 0
    assert timed[-100:].all() and not timed[:200].any()
    assert np.all(cpu[timed] <= dur[timed] + 20_000)  # two clocks read 20 us apart at most
    assert np.median(cpu[timed] / dur[timed]) > 0.3
