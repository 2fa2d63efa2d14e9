"""Scene validation as a user meets it: ``automixd check``, ``automixd params``,
:meth:`Scene.from_dict` / :meth:`Scene.load`, and the normalised 0..1 mapping
every controller uses.

A scene is validated whole: every problem is reported at once, each naming
its key path, the bad value and what is allowed (with a "did you mean" for
an unknown key), and a scene with any error is not applied at all.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import automixd.engine.engine as engine_module
from automixd.engine import Engine, ParamSpec, ParamTable, Scene, SceneError
from automixd.engine.params import (
    AUTOMIX_SPECS,
    BUS_SPECS,
    CHANNEL_SPECS,
    N_AUTOMIX_GROUPS,
    SEND_SPECS,
)

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config"
BUNDLED = sorted(CONFIG.glob("*.toml"))
AUTOMIXD = Path(sys.executable).parent / "automixd"
ALL_SPECS = CHANNEL_SPECS + BUS_SPECS + SEND_SPECS


def automixd(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run the installed console script as a user would."""
    return subprocess.run([str(AUTOMIXD), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


# A scene file with seven problems at once, one of each kind a user makes.
BROKEN_TOML = """\
sample_rate = 44000          # not a supported rate
channels = 2

[ch.1]
name = "Host"
fader_bd = -3                # typo of fader_db
mute = "yes"                 # wrong type: a switch is true/false
[ch.1.eq.2]
gain_db = 40                 # out of range [-18, 18] dB
[ch.1.hpf]
slope_db_oct = 18            # not one of 12, 24
[ch.1.send.reverb]           # no such bus (only "monitor" is declared)
level_db = -6

[ch.3]                       # beyond channels = 2
name = "Extra"

[bus.monitor]
channels = 1
"""

# The same scene as nested dicts, as tomllib parses it.
BROKEN_DICT = {
    "sample_rate": 44000,
    "channels": 2,
    "ch": {
        "1": {"name": "Host", "fader_bd": -3, "mute": "yes", "eq": {"2": {"gain_db": 40}},
              "hpf": {"slope_db_oct": 18}, "send": {"reverb": {"level_db": -6}}},
        "3": {"name": "Extra"},
    },
    "bus": {"monitor": {"channels": 1}},
}

# What each of the seven errors must say: (key path, fragments that must all
# appear on that one line: the bad value and the allowed range/choices).
EXPECTED_ERRORS = [
    ("sample_rate", ["44000", "32000", "44100", "48000", "96000", "192000"]),
    ("ch.1.fader_bd", ["unknown key", "did you mean 'fader_db'?"]),
    ("ch.1.mute", ["'yes'", "true or false"]),
    ("ch.1.eq.2.gain_db", ["40", "[-18, 18] dB"]),
    ("ch.1.hpf.slope_db_oct", ["18", "12, 24"]),
    ("ch.1.send.reverb.level_db", ["'reverb'", "monitor"]),
    ("ch.3", ["2 channels", "channels = 2"]),
]

SYNTAX_TOML = """\
channels = 2
[ch.1
fader_db = -3
"""


def error_line(lines: list[str], path: str) -> str:
    """The one error line about ``path`` (a line starting with the path)."""
    hits = [ln.strip() for ln in lines if ln.strip().startswith((f"{path} ", f"{path}:"))]
    assert len(hits) == 1, f"expected exactly one error about {path!r}, got {hits!r} in:\n" + "\n".join(lines)
    return hits[0]


# -- bundled scenes ------------------------------------------------------------------
@pytest.mark.parametrize("scene", BUNDLED, ids=lambda p: p.name)
def test_bundled_scene_checks_ok(scene: Path) -> None:
    # Every scene shipped in config/ validates: `automixd check` exits 0 and
    # prints "<path>: ok: N channels at R Hz ..." with the file's own counts.
    r = automixd("check", scene)
    assert r.returncode == 0, r.stderr
    assert f"{scene}: ok:" in r.stdout
    loaded = Scene.load(scene)
    assert f"{len(loaded.channels)} channels at {loaded.sample_rate} Hz" in r.stdout


def test_bundled_scenes_checked_together() -> None:
    # Several files in one call: one "ok" line each, exit 0.
    assert len(BUNDLED) >= 2, "config/ should hold default.toml and podcast.toml"
    r = automixd("check", *BUNDLED)
    assert r.returncode == 0, r.stderr
    ok_lines = [ln for ln in r.stdout.splitlines() if ": ok:" in ln]
    assert len(ok_lines) == len(BUNDLED)


def test_bundled_scene_contents() -> None:
    # The podcast scene is what the README describes: 6 channels, a stereo main
    # and a mono monitor bus; default.toml has 8 mics into a stereo main.
    podcast = Scene.load(CONFIG / "podcast.toml")
    assert [(b.name, b.channels) for b in podcast.buses] == [("main", 2), ("monitor", 1)]
    assert len(podcast.channels) == 6 and podcast.block_size == 256
    assert podcast.values["ch.5.fader_db"] == -12.0
    default = Scene.load(CONFIG / "default.toml")
    assert len(default.channels) == 8
    assert [(b.name, b.channels) for b in default.buses] == [("main", 2)]


# -- a broken scene: every error at once ------------------------------------------------
def test_check_reports_every_error_at_once(tmp_path: Path) -> None:
    # `automixd check broken.toml syntax.toml config/default.toml`: exit 1; the
    # good file still says ok; broken.toml's seven problems are all printed in
    # one run, each on its own line with its key path, the bad value and the
    # allowed range or choices ("did you mean 'fader_db'?" for the typo); the
    # TOML syntax error names the line it is on.
    broken = tmp_path / "broken.toml"
    broken.write_text(BROKEN_TOML, encoding="utf-8")
    syntax = tmp_path / "syntax.toml"
    syntax.write_text(SYNTAX_TOML, encoding="utf-8")
    good = CONFIG / "default.toml"
    r = automixd("check", broken, syntax, good)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert f"{good}: ok:" in r.stdout
    lines = r.stderr.splitlines()
    assert f"{broken}: 7 error(s)" in r.stderr
    for path, fragments in EXPECTED_ERRORS:
        line = error_line(lines, path)
        for frag in fragments:
            assert frag in line, f"error about {path} should mention {frag!r}: {line!r}"
    assert f"{syntax}: 1 error(s)" in r.stderr
    toml_line = [ln for ln in lines if "not valid TOML" in ln]
    assert len(toml_line) == 1 and "line 2" in toml_line[0], r.stderr


def test_from_dict_raises_with_all_errors() -> None:
    # Scene.from_dict collects every problem into SceneError.errors: exactly
    # seven for the seven mistakes, each starting with its key path.
    with pytest.raises(SceneError) as info:
        Scene.from_dict(BROKEN_DICT, source="broken")
    errors = info.value.errors
    assert len(errors) == 7, errors
    for path, fragments in EXPECTED_ERRORS:
        line = error_line(errors, path)
        for frag in fragments:
            assert frag in line, f"error about {path} should mention {frag!r}: {line!r}"
    assert str(info.value).startswith("broken: 7 error(s)")


def test_load_and_from_dict_agree(tmp_path: Path) -> None:
    # The file and the dict it parses to give the same error list.
    broken = tmp_path / "broken.toml"
    broken.write_text(BROKEN_TOML, encoding="utf-8")
    with pytest.raises(SceneError) as from_file:
        Scene.load(broken)
    with pytest.raises(SceneError) as from_dict:
        Scene.from_dict(BROKEN_DICT)
    assert sorted(from_file.value.errors) == sorted(from_dict.value.errors)
    assert from_file.value.source == str(broken)


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    # A TOML syntax error and an unreadable file are SceneErrors with one
    # message each (no traceback from tomllib or the OS leaks out).
    syntax = tmp_path / "syntax.toml"
    syntax.write_text(SYNTAX_TOML, encoding="utf-8")
    with pytest.raises(SceneError) as info:
        Scene.load(syntax)
    assert len(info.value.errors) == 1 and "not valid TOML" in info.value.errors[0]
    with pytest.raises(SceneError) as info:
        Scene.load(tmp_path / "nope.toml")
    assert len(info.value.errors) == 1 and "cannot read" in info.value.errors[0]
    r = automixd("check", tmp_path / "nope.toml")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "cannot read" in r.stderr


# One problem at a time: exactly one error, naming path, value and what is allowed.
SINGLE_PROBLEMS = {
    "top-level typo": ({"channels": 1, "sampel_rate": 48000},
                       "sampel_rate", ["unknown key", "did you mean 'sample_rate'?"]),
    "bus key typo": ({"channels": 1, "bus": {"main": {"limiter": {"ceiling_bd": -3}}}},
                     "bus.main.limiter.ceiling_bd", ["did you mean 'limiter.ceiling_db'?"]),
    "send bus typo": ({"channels": 1, "bus": {"monitor": {"channels": 1}},
                       "ch": {"1": {"send": {"monitr": {"level_db": 0}}}}},
                      "ch.1.send.monitr.level_db", ["'monitr'", "did you mean 'monitor'?"]),
    "send with no aux bus": ({"channels": 1, "ch": {"1": {"send": {"fx": {"level_db": 0}}}}},
                             "ch.1.send.fx.level_db", ["'fx'", "[bus.NAME]"]),
    "send to main": ({"channels": 1, "ch": {"1": {"send": {"main": {"level_db": 0}}}}},
                     "ch.1.send.main.level_db", ["main bus"]),
    "send level out of range": ({"channels": 1, "bus": {"fx": {}},
                                 "ch": {"1": {"send": {"fx": {"level_db": 12}}}}},
                                "ch.1.send.fx.level_db", ["12", "[-90, 10] dB"]),
    "number as text": ({"channels": 1, "ch": {"1": {"fader_db": "loud"}}},
                       "ch.1.fader_db", ["'loud'", "[-90, 10] dB"]),
    "bool for a number": ({"channels": 1, "ch": {"1": {"pan": True}}},
                          "ch.1.pan", ["True", "[-1, 1]"]),
    "nan": ({"channels": 1, "ch": {"1": {"trim_db": math.nan}}},
            "ch.1.trim_db", ["nan", "[-24, 24] dB"]),
    "bad choice name": ({"channels": 1, "ch": {"1": {"eq": {"1": {"type": "bell"}}}}},
                        "ch.1.eq.1.type", ["'bell'", "peak", "low_shelf", "high_pass"]),
    "eq band 5": ({"channels": 1, "ch": {"1": {"eq": {"5": {"gain_db": 3}}}}},
                  "ch.1.eq.5.gain_db", ["unknown key", "did you mean"]),
    "channels out of range": ({"channels": 300}, "channels", ["300", "[1, 256]"]),
    "channels not an integer": ({"channels": 2.5}, "channels", ["2.5", "[1, 256]"]),
    "block size": ({"channels": 1, "block_size": 0}, "block_size", ["0", "[1, 8192]"]),
    "sample rate as text": ({"channels": 1, "sample_rate": "48000"}, "sample_rate", ["'48000'", "48000, 88200"]),
    "mono/stereo bus": ({"channels": 1, "bus": {"fx": {"channels": 3}}}, "bus.fx.channels", ["3", "1 (mono)", "2 (stereo)"]),
    "mono main": ({"channels": 1, "bus": {"main": {"channels": 1}}}, "bus.main.channels", ["1", "stereo (2)"]),
    "channel 0": ({"channels": 1, "ch": {"0": {}}}, "ch.0", ["1..256"]),
    "input number": ({"channels": 1, "ch": {"1": {"input": -1}}}, "ch.1.input", ["-1", "[0, 256]"]),
    "empty name": ({"channels": 1, "ch": {"1": {"name": ""}}}, "ch.1.name", ["''", "non-empty"]),
}


@pytest.mark.parametrize("case", list(SINGLE_PROBLEMS))
def test_single_problem_message(case: str) -> None:
    # Each kind of mistake alone gives exactly one error line that starts with
    # its key path and names the bad value and the allowed range or choices.
    data, path, fragments = SINGLE_PROBLEMS[case]
    with pytest.raises(SceneError) as info:
        Scene.from_dict(data)
    errors = info.value.errors
    assert len(errors) == 1, errors
    line = error_line(errors, path)
    for frag in fragments:
        assert frag in line, f"{case}: expected {frag!r} in {line!r}"


def test_channel_count_from_highest_table() -> None:
    # Without `channels` the scene has as many channels as its highest [ch.N].
    scene = Scene.from_dict({"ch": {"3": {"fader_db": -6}}})
    assert len(scene.channels) == 3
    assert scene.values == {"ch.3.fader_db": -6.0}


# -- all or nothing ----------------------------------------------------------------------------
def test_bad_scene_builds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Engine.from_scene with a dict that has one good value and one bad one
    # raises SceneError before any engine state (the Plan) is allocated: a
    # scene is applied whole or not at all.
    built = []

    class SpyPlan(engine_module.Plan):
        def __init__(self, *a, **kw):
            built.append(a)
            super().__init__(*a, **kw)

    monkeypatch.setattr(engine_module, "Plan", SpyPlan)
    bad = {"channels": 2, "ch": {"1": {"fader_db": -6}, "2": {"fader_db": 99}}}
    with pytest.raises(SceneError) as info:
        Engine.from_scene(bad)
    assert len(info.value.errors) == 1 and "ch.2.fader_db" in info.value.errors[0]
    assert built == [], "a Plan was built for an invalid scene"
    # the same dict, fixed, builds exactly one engine with both values applied
    bad["ch"]["2"]["fader_db"] = 6
    eng = Engine.from_scene(bad)
    assert len(built) == 1
    assert eng.get("ch.1.fader_db") == -6.0 and eng.get("ch.2.fader_db") == 6.0


def test_bad_scene_file_builds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same for a scene file given by path.
    built = []
    monkeypatch.setattr(engine_module, "Plan", lambda *a, **kw: built.append(a))
    broken = tmp_path / "broken.toml"
    broken.write_text(BROKEN_TOML, encoding="utf-8")
    with pytest.raises(SceneError) as info:
        Engine.from_scene(broken)
    assert len(info.value.errors) == 7
    assert built == []


# -- automixd params ----------------------------------------------------------------------------
def parse_params_table(text: str) -> dict[str, dict[str, str]]:
    """Rows of `automixd params` keyed by path; columns cut at the header's positions."""
    lines = text.splitlines()
    header = lines[0]
    names = header.split()
    assert names == ["path", "unit", "range", "default", "value"], header
    starts = [header.index(n) for n in names] + [None]
    rows = {}
    for ln in lines[1:]:
        cells = [ln[a:b].strip() for a, b in zip(starts[:-1], starts[1:])]
        rows[cells[0]] = dict(zip(names[1:], cells[1:]))
    return rows


def test_params_lists_every_path_with_scene_values() -> None:
    # `automixd params --scene config/podcast.toml` prints one row per
    # parameter path of the podcast layout (6 channels, buses main and monitor,
    # a send from every channel to monitor), each with unit, range, default and
    # the scene's current value.
    r = automixd("params", "--scene", CONFIG / "podcast.toml")
    assert r.returncode == 0, r.stderr
    rows = parse_params_table(r.stdout)
    expected_paths = set(ParamTable(6, ("main", "monitor")).paths)
    assert set(rows) == expected_paths
    assert len(rows) == (6 * len(CHANNEL_SPECS) + 2 * len(BUS_SPECS) + 6 * len(SEND_SPECS)
                         + N_AUTOMIX_GROUPS * len(AUTOMIX_SPECS))

    assert rows["ch.1.eq.2.gain_db"] == {"unit": "dB", "range": "-18..18", "default": "0", "value": "0"}
    assert rows["ch.5.fader_db"] == {"unit": "dB", "range": "-90..10", "default": "0", "value": "-12"}
    assert rows["bus.main.limiter.ceiling_db"] == {"unit": "dB", "range": "-30..0", "default": "-1", "value": "-1"}
    assert rows["ch.1.send.monitor.level_db"] == {"unit": "dB", "range": "-90..10", "default": "-90", "value": "0"}
    assert rows["ch.1.send.monitor.pre"] == {"unit": "", "range": "true|false", "default": "false", "value": "true"}
    assert rows["ch.1.hpf.slope_db_oct"] == {"unit": "dB/oct", "range": "12|24", "default": "12", "value": "12"}
    assert rows["ch.1.hpf.freq_hz"]["value"] == "90" and rows["ch.1.hpf.freq_hz"]["default"] == "80"
    assert rows["ch.1.eq.3.gain_db"]["value"] == "2"
    assert rows["ch.1.pan"]["value"] == "-0.3"
    assert rows["ch.5.hpf.on"]["value"] == "false"
    assert rows["bus.main.comp.on"]["value"] == "true"
    assert rows["ch.1.eq.1.type"] == {"unit": "", "range": "peak|low_shelf|high_shelf|notch|low_pass|high_pass",
                                       "default": "low_shelf", "value": "low_shelf"}

    # every value the scene sets shows up in the value column; every other
    # path shows its default
    scene = Scene.load(CONFIG / "podcast.toml")
    table = scene.param_table()
    for path, (_, spec) in table.paths.items():
        stored = scene.values.get(path, spec.default)
        shown = rows[path]["value"]
        if spec.scale == "bool":
            assert shown == ("true" if stored >= 0.5 else "false"), path
        elif spec.choices:
            assert shown == str(spec.choices[int(stored)]), path
        else:
            assert float(shown) == pytest.approx(stored, abs=1e-9), path


def test_params_without_scene_and_filter() -> None:
    # Without --scene the table is a one-channel default scene; --filter keeps
    # only the paths containing the text.
    r = automixd("params", "--filter", "fader_db")
    assert r.returncode == 0, r.stderr
    rows = parse_params_table(r.stdout)
    assert set(rows) == {"ch.1.fader_db", "bus.main.fader_db"}


def test_params_with_broken_scene(tmp_path: Path) -> None:
    # A broken scene makes `params` print every error and exit 1.
    broken = tmp_path / "broken.toml"
    broken.write_text(BROKEN_TOML, encoding="utf-8")
    r = automixd("params", "--scene", broken)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "7 error(s)" in r.stderr


# -- normalised mapping ------------------------------------------------------------------------
CONTINUOUS = [s for s in ALL_SPECS if s.scale in ("lin", "log")]


@pytest.mark.parametrize("spec", CONTINUOUS, ids=lambda s: f"{s.name}:{s.scale}")
def test_normalized_round_trip(spec: ParamSpec) -> None:
    # to_normalized maps [lo, hi] onto [0, 1] (ends exact to 1e-9) and
    # from_normalized inverts it to 1e-9 (relative to the range) for values on
    # the parameter's step grid (continuous parameters: any value); a log
    # parameter's midpoint is the geometric mean of its range.
    span = spec.hi - spec.lo
    assert spec.to_normalized(spec.lo) == pytest.approx(0.0, abs=1e-9)
    assert spec.to_normalized(spec.hi) == pytest.approx(1.0, abs=1e-9)
    rng = np.random.default_rng(abs(hash(spec.name)) % 2**32)
    if spec.step:
        k = rng.integers(0, int(round(span / spec.step)) + 1, size=200)
        values = spec.lo + k * spec.step
    elif spec.scale == "log":
        values = spec.lo * (spec.hi / spec.lo) ** rng.random(200)
    else:
        values = spec.lo + span * rng.random(200)
    values = np.concatenate([[spec.lo, spec.hi, spec.default], values])
    for v in values:
        x = spec.to_normalized(float(v))
        assert -1e-9 <= x <= 1 + 1e-9
        back = spec.from_normalized(x)
        assert abs(back - v) <= 1e-9 * max(1.0, span), f"{spec.name}: {v} -> {x} -> {back}"
    xs = np.linspace(0.0, 1.0, 101)
    mapped = [spec.from_normalized(x) for x in xs]
    assert all(b >= a for a, b in zip(mapped, mapped[1:])), "mapping not monotonic"
    if not spec.step:
        for x in xs:
            assert abs(spec.to_normalized(spec.from_normalized(x)) - x) <= 1e-9
    if spec.scale == "log":
        assert spec.from_normalized(0.5) == pytest.approx(math.sqrt(spec.lo * spec.hi), rel=1e-9)
    else:
        assert spec.from_normalized(0.5) == pytest.approx(spec.lo + span / 2, abs=max(spec.step / 2, 1e-9))


def test_normalized_known_points() -> None:
    # A few fixed points a control surface relies on: EQ frequency 20..20000
    # Hz (log) at 0.5 is 632.456 Hz; the fader (-90..10 dB, lin) at 0.9 is
    # 0 dB; a pan of 0 is the centre 0.5.
    specs = {s.name: s for s in CHANNEL_SPECS}
    assert specs["eq.2.freq_hz"].from_normalized(0.5) == pytest.approx(632.4555320336759, rel=1e-9)
    assert specs["eq.2.freq_hz"].to_normalized(2000.0) == pytest.approx(2.0 / 3.0, abs=1e-9)
    assert specs["fader_db"].from_normalized(0.9) == pytest.approx(0.0, abs=1e-9)
    assert specs["pan"].to_normalized(0.0) == pytest.approx(0.5, abs=1e-9)
    assert specs["fader_db"].from_normalized(1.5) == specs["fader_db"].hi  # clamped
    assert specs["fader_db"].from_normalized(-0.5) == specs["fader_db"].lo


# -- scene shapes that used to slip through -----------------------------------------------------
@pytest.mark.parametrize("data, needle", [
    # no channels at all: say what is missing, not "channels = 0"
    ({}, "a scene needs at least one channel"),
    # [ch.01] and [ch.1] are one channel: refuse rather than silently merge
    ({"ch": {"01": {"fader_db": -3.0}, "1": {"fader_db": -6.0}}}, "the same channel as ch.01"),
    # a bus's channel count is a whole number
    ({"channels": 1, "bus": {"mon": {"channels": 1.0}}}, "bus.mon.channels = 1.0"),
])
def test_scene_shape_errors(data, needle) -> None:
    with pytest.raises(SceneError) as info:
        Scene.from_dict(data)
    assert len(info.value.errors) == 1
    assert needle in info.value.errors[0]
