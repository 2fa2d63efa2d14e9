"""Scenes: the TOML description of a mix, validated whole before it is applied.

A scene names the sample rate and block size, the channels (with their
inputs and strip settings), the buses and the sends. Validation collects
every problem at once, each with its key path, the bad value, what is
allowed and a "did you mean" for unknown keys; a scene with any error is
not applied at all.

Example::

    sample_rate = 48000
    block_size = 64
    channels = 4

    [ch.1]
    name = "Host"
    fader_db = -3.0
    [ch.1.hpf]
    freq_hz = 100
    [ch.1.send.monitor]
    level_db = -6.0
    pre = true

    [bus.monitor]
    channels = 1
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .params import (
    AUTOMIX_SPECS,
    BUS_SPECS,
    CHANNEL_SPECS,
    N_AUTOMIX_GROUPS,
    SEND_SPECS,
    ParamTable,
    did_you_mean,
)

MAIN_BUS = "main"
SAMPLE_RATES = (32000, 44100, 48000, 88200, 96000, 176400, 192000)
MAX_CHANNELS = 256
MAX_AUX_BUSES = 32


class SceneError(ValueError):
    """A scene that cannot be applied; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str], source: str = "scene") -> None:
        self.errors = errors
        self.source = source
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"{source}: {len(errors)} error(s)\n{lines}")


@dataclass
class ChannelInfo:
    name: str
    input: int  # 1-based input number, 0 = none
    connect: list[str] = field(default_factory=list)  # live: ports feeding this channel's input


@dataclass
class BusInfo:
    name: str
    channels: int  # 1 (mono) or 2 (stereo)
    connect: list[str] = field(default_factory=list)  # live: port fed by each bus channel ("" = none)


@dataclass
class Scene:
    """A validated scene: layout plus every parameter value that differs from default."""

    sample_rate: int = 48000
    block_size: int = 64
    channels: list[ChannelInfo] = field(default_factory=list)
    buses: list[BusInfo] = field(default_factory=lambda: [BusInfo(MAIN_BUS, 2)])
    values: dict[str, float] = field(default_factory=dict)  # path -> stored value
    source: str = "scene"

    def param_table(self) -> ParamTable:
        return ParamTable(len(self.channels), tuple(b.name for b in self.buses))

    @classmethod
    def load(cls, path: str | Path) -> Scene:
        """Read and validate a TOML scene file; raises :class:`SceneError`."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SceneError([f"cannot read: {exc.strerror or exc}"], str(path)) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SceneError([f"not valid TOML: {exc}"], str(path)) from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "scene") -> Scene:
        """Validate a scene given as nested dicts (the parsed TOML)."""
        return _Validator(data, source).run()


_TOP_KEYS = ("sample_rate", "block_size", "channels", "ch", "bus", "automix", "name", "description")
_CH_KEYS = ("name", "input", "connect")
_BUS_KEYS = ("channels", "connect")


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in d.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            items += _flatten(value, path + ".")
        else:
            items.append((path, value))
    return items


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Validator:
    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source
        self.errors: list[str] = []

    def error(self, path: str, value: Any, why: str) -> None:
        self.errors.append(f"{path} = {value!r}: {why}")

    def run(self) -> Scene:
        data = self.data
        scene = Scene(source=self.source)
        if not isinstance(data, dict):
            raise SceneError(["a scene is a TOML table"], self.source)
        for key in data:
            if key not in _TOP_KEYS:
                self.errors.append(f"{key}: unknown key{did_you_mean(key, _TOP_KEYS)}")
        sr = data.get("sample_rate", 48000)
        if not _is_int(sr) or sr not in SAMPLE_RATES:
            self.error("sample_rate", sr, f"expected one of {', '.join(map(str, SAMPLE_RATES))} Hz")
        else:
            scene.sample_rate = sr
        bs = data.get("block_size", 64)
        if not _is_int(bs) or not 1 <= bs <= 8192:
            self.error("block_size", bs, "expected an integer in [1, 8192] frames")
        else:
            scene.block_size = bs
        ch_tables = data.get("ch", {})
        if not isinstance(ch_tables, dict):
            self.error("ch", ch_tables, "expected tables [ch.1], [ch.2], ...")
            ch_tables = {}
        numbers: dict[int, dict[str, Any]] = {}
        spelled: dict[int, str] = {}
        for key, table in ch_tables.items():
            if not key.isdigit() or not 1 <= int(key) <= MAX_CHANNELS:
                self.errors.append(f"ch.{key}: channels are numbered 1..{MAX_CHANNELS}")
            elif not isinstance(table, dict):
                self.error(f"ch.{key}", table, "expected a table")
            elif int(key) in numbers:
                self.errors.append(f"ch.{key}: the same channel as ch.{spelled[int(key)]}; "
                                   "give each channel one table")
            else:
                numbers[int(key)] = table
                spelled[int(key)] = key
        if "channels" not in data and not numbers:
            self.errors.append("channels: a scene needs at least one channel "
                               "(set channels = N or add a [ch.1] table)")
            n_ch = 1
        else:
            n_ch = data.get("channels", max(numbers, default=0))
        if not _is_int(n_ch) or not 1 <= n_ch <= MAX_CHANNELS:
            self.error("channels", n_ch, f"expected an integer in [1, {MAX_CHANNELS}]")
            n_ch = max(numbers, default=1)
        for number in numbers:
            if number > n_ch:
                self.errors.append(f"ch.{number}: the scene has only {n_ch} channels (channels = {n_ch})")
        bus_tables = data.get("bus", {})
        if not isinstance(bus_tables, dict):
            self.error("bus", bus_tables, "expected tables [bus.main], [bus.NAME], ...")
            bus_tables = {}
        buses = [BusInfo(MAIN_BUS, 2)]
        for name, table in bus_tables.items():
            if not isinstance(table, dict):
                self.error(f"bus.{name}", table, "expected a table")
                continue
            if name == MAIN_BUS:
                if "channels" in table and table["channels"] != 2:
                    self.error("bus.main.channels", table["channels"], "the main bus is stereo (2)")
                continue
            if not name.replace("_", "").isalnum():
                self.errors.append(f"bus.{name}: a bus name uses letters, digits and _ only")
                continue
            nch = table.get("channels", 2)
            if not _is_int(nch) or nch not in (1, 2):
                self.error(f"bus.{name}.channels", nch, "expected 1 (mono) or 2 (stereo)")
                nch = 2
            buses.append(BusInfo(name, nch))
        for bus in buses:
            table = bus_tables.get(bus.name)
            if isinstance(table, dict) and "connect" in table:
                bus.connect = self._ports(f"bus.{bus.name}.connect", table["connect"])
                if len(bus.connect) > bus.channels:
                    self.error(f"bus.{bus.name}.connect", table["connect"],
                               f"one port per bus channel, at most {bus.channels}")
        if len(buses) > MAX_AUX_BUSES + 1:
            self.errors.append(f"bus: at most {MAX_AUX_BUSES} aux buses, found {len(buses) - 1}")
        scene.buses = buses
        bus_names = [b.name for b in buses]
        table = ParamTable(n_ch, tuple(bus_names))
        # channels: layout keys, then strip parameters and sends
        ch_specs = {s.name: s for s in CHANNEL_SPECS}
        send_specs = {s.name: s for s in SEND_SPECS}
        for number in range(1, n_ch + 1):
            t = numbers.get(number, {})
            name = t.get("name", f"Ch {number}")
            if not isinstance(name, str) or not name.strip():
                self.error(f"ch.{number}.name", name, "expected a non-empty string")
                name = f"Ch {number}"
            inp = t.get("input", number)
            if not _is_int(inp) or not 0 <= inp <= MAX_CHANNELS:
                self.error(f"ch.{number}.input", inp, f"expected an input number in [0, {MAX_CHANNELS}] (0 = none)")
                inp = number
            connect = self._ports(f"ch.{number}.connect", t["connect"]) if "connect" in t else []
            scene.channels.append(ChannelInfo(name, inp, connect))
            for path, value in _flatten(t):
                full = f"ch.{number}.{path}"
                if path in _CH_KEYS:
                    continue
                if path.startswith("send."):
                    parts = path.split(".")
                    if len(parts) != 3:
                        self.errors.append(f"{full}: expected ch.{number}.send.BUS.level_db or .pre")
                        continue
                    _, bus, leaf = parts
                    if bus == MAIN_BUS:
                        self.errors.append(f"{full}: the main bus is fed by fader and pan, not a send")
                        continue
                    if bus not in bus_names:
                        aux = [b for b in bus_names if b != MAIN_BUS]
                        hint = did_you_mean(bus, aux) or (f"; buses: {', '.join(aux)}" if aux else
                                                          "; declare it with [bus.NAME]")
                        self.errors.append(f"{full}: no bus named {bus!r}{hint}")
                        continue
                    self._value(scene, table, full, send_specs.get(leaf), value, leaf, send_specs)
                    continue
                self._value(scene, table, full, ch_specs.get(path), value, path,
                            list(ch_specs) + list(_CH_KEYS))
        bus_specs = {s.name: s for s in BUS_SPECS}
        for name, t in bus_tables.items():
            if not isinstance(t, dict) or name not in bus_names:
                continue
            for path, value in _flatten(t):
                if path in _BUS_KEYS:
                    continue
                self._value(scene, table, f"bus.{name}.{path}", bus_specs.get(path), value, path,
                            list(bus_specs) + list(_BUS_KEYS))
        self._automix(scene, table, data.get("automix", {}))
        if self.errors:
            raise SceneError(self.errors, self.source)
        return scene

    def _ports(self, path: str, value: Any) -> list[str]:
        ports = [value] if isinstance(value, str) else value
        if not isinstance(ports, list) or not all(isinstance(p, str) for p in ports):
            self.error(path, value, 'expected a port name or a list of them ("system:capture_1")')
            return []
        return ports

    def _automix(self, scene: Scene, table: ParamTable, groups: Any) -> None:
        if not isinstance(groups, dict):
            self.error("automix", groups, f"expected tables [automix.1] .. [automix.{N_AUTOMIX_GROUPS}]")
            return
        specs = {s.name: s for s in AUTOMIX_SPECS}
        for key, t in groups.items():
            if not key.isdigit() or not 1 <= int(key) <= N_AUTOMIX_GROUPS:
                self.errors.append(f"automix.{key}: automix groups are numbered 1..{N_AUTOMIX_GROUPS}")
                continue
            if not isinstance(t, dict):
                self.error(f"automix.{key}", t, "expected a table")
                continue
            for path, value in _flatten(t):
                self._value(scene, table, f"automix.{int(key)}.{path}", specs.get(path), value, path, specs)

    def _value(self, scene: Scene, table: ParamTable, full: str, spec, value, leaf, known) -> None:
        if spec is None:
            self.errors.append(f"{full}: unknown key{did_you_mean(leaf, known)}")
            return
        try:
            scene.values[full] = spec.parse(value)
        except ValueError as exc:
            self.error(full, value, str(exc))
