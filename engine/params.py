"""Parameter declarations: every control of the mixer is declared exactly once.

A :class:`ParamSpec` gives a parameter its name (with the unit in it), range,
default, scale law and smoothing time. Scene validation, ``automixd params``,
``Engine.set``/``get``, telemetry and (later) OSC and MIDI mappings are all
visitors of these declarations; none of them keeps its own list of controls.

Values are stored in user units (dB, Hz, ms, 0/1 for switches, the choice
index for enumerations) in a flat float64 *target* array owned by the plan.
Control threads write targets; the audio thread reads them at its control
ticks, smooths and derives coefficients (see ``kernels/controls.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Below this a fader or send level means "off" (-inf dB).
OFF_DB = -90.0

N_EQ_BANDS = 4
EQ_TYPES = ("peak", "low_shelf", "high_shelf", "notch", "low_pass", "high_pass")
#: Automix groups: each is an independent automixer (rooms, or L/C/R stems).
N_AUTOMIX_GROUPS = 4
AUTOMIX_GROUPS = ("none",) + tuple(str(g) for g in range(1, N_AUTOMIX_GROUPS + 1))
AUTOMIX_MODES = ("auto", "manual", "mute")
AUTOMIX_SUMS = ("coherent", "incoherent")
AUTOMIX_GROUP_MODES = ("share", "gate")
HPF_SLOPES = (12, 24)


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter.

    Parameters
    ----------
    name : str
        Path relative to its owner, e.g. ``"eq.2.gain_db"``.
    unit : str
        Display unit: ``"dB"``, ``"Hz"``, ``"ms"``, ``""``.
    lo, hi : float
        Allowed range, inclusive (for choices: 0 and ``len(choices) - 1``).
    default : float
        Value of a fresh scene (for choices: the index).
    scale : str
        Law of the normalised 0..1 mapping: ``"lin"``, ``"log"``, ``"bool"``,
        ``"choice"``.
    smoothing_ms : float
        Time constant with which the audio thread follows a change; 0 means
        the value is latched at the next control tick (dynamics settings, whose
        own ballistics already keep a change click-free).
    choices : tuple
        Names of an enumeration, stored by index.
    step : float
        Resolution for controllers (0: continuous).
    doc : str
        One line for ``automixd params`` and the docs.
    """

    name: str
    unit: str
    lo: float
    hi: float
    default: float
    scale: str = "lin"
    smoothing_ms: float = 0.0
    choices: tuple = ()
    step: float = 0.0
    doc: str = ""

    # -- value conversions shared by every controller ---------------------
    def parse(self, value: object) -> float:
        """Convert a user value (number, bool, choice name) to stored units.

        Raises
        ------
        ValueError
            With a message naming the allowed range or choices.
        """
        if self.scale == "bool":
            if isinstance(value, bool):
                return 1.0 if value else 0.0
            if isinstance(value, (int, float)) and value in (0, 1):
                return float(value)
            if isinstance(value, str) and value.lower() in ("true", "on", "1", "false", "off", "0"):
                return 1.0 if value.lower() in ("true", "on", "1") else 0.0
            raise ValueError("expected true or false")
        if self.choices:
            names = [str(c) for c in self.choices]
            if isinstance(value, str) and value in names:
                return float(names.index(value))
            if not isinstance(value, bool) and isinstance(value, (int, float)):
                if str(int(value)) in names and float(value) == int(value):
                    return float(names.index(str(int(value))))
            raise ValueError(f"expected one of {', '.join(names)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"expected a number in [{_fmt(self.lo)}, {_fmt(self.hi)}] {self.unit}".rstrip())
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"expected a number in [{_fmt(self.lo)}, {_fmt(self.hi)}] {self.unit}".rstrip()) from None
        if not math.isfinite(number) or number < self.lo or number > self.hi:
            raise ValueError(f"out of range [{_fmt(self.lo)}, {_fmt(self.hi)}] {self.unit}".rstrip())
        return number

    def display(self, stored: float) -> object:
        """The user-facing value of a stored number (bool, choice name, float)."""
        if self.scale == "bool":
            return bool(stored >= 0.5)
        if self.choices:
            return self.choices[int(round(stored))]
        return float(stored)

    def to_normalized(self, stored: float) -> float:
        """Map a stored value to 0..1 by the declared scale law."""
        if self.scale == "log":
            return math.log(stored / self.lo) / math.log(self.hi / self.lo)
        return (stored - self.lo) / (self.hi - self.lo)

    def from_normalized(self, x: float) -> float:
        """Map 0..1 back to a stored value by the declared scale law."""
        x = min(max(float(x), 0.0), 1.0)
        if self.scale == "log":
            return self.lo * (self.hi / self.lo) ** x
        value = self.lo + x * (self.hi - self.lo)
        if self.scale in ("bool", "choice") or self.choices:
            return float(round(value))
        if self.step:
            value = self.lo + round((value - self.lo) / self.step) * self.step
        return value


def _fmt(x: float) -> str:
    return f"{x:g}"


def _switch(name: str, default: bool, doc: str) -> ParamSpec:
    return ParamSpec(name, "", 0, 1, 1.0 if default else 0.0, "bool", 0.0, doc=doc)


def _eq_band(prefix: str, band: int, kind: str, freq_hz: float, q: float) -> list[ParamSpec]:
    p = f"{prefix}{band}."
    return [
        ParamSpec(p + "type", "", 0, len(EQ_TYPES) - 1, EQ_TYPES.index(kind), "choice",
                  choices=EQ_TYPES, doc=f"band {band} filter shape"),
        ParamSpec(p + "freq_hz", "Hz", 20.0, 20000.0, freq_hz, "log", 20.0,
                  doc=f"band {band} centre or corner frequency"),
        ParamSpec(p + "gain_db", "dB", -18.0, 18.0, 0.0, "lin", 20.0, step=0.25,
                  doc=f"band {band} gain (peak and shelves)"),
        ParamSpec(p + "q", "", 0.1, 20.0, q, "log", 20.0, doc=f"band {band} quality factor"),
    ]


def _eq(prefix: str = "eq.") -> list[ParamSpec]:
    specs = [_switch(prefix + "on", True, "4-band parametric EQ in circuit")]
    defaults = [("low_shelf", 100.0, 0.707), ("peak", 400.0, 1.0),
                ("peak", 2500.0, 1.0), ("high_shelf", 8000.0, 0.707)]
    for band, (kind, f, q) in enumerate(defaults, start=1):
        specs += _eq_band(prefix, band, kind, f, q)
    return specs


def _comp(prefix: str = "comp.", on: bool = False) -> list[ParamSpec]:
    return [
        _switch(prefix + "on", on, "compressor in circuit"),
        ParamSpec(prefix + "threshold_db", "dB", -60.0, 0.0, -20.0, doc="compressor threshold (peak level)"),
        ParamSpec(prefix + "ratio", ":1", 1.0, 20.0, 3.0, "log", doc="compression ratio above threshold"),
        ParamSpec(prefix + "knee_db", "dB", 0.0, 24.0, 6.0, doc="soft-knee width"),
        ParamSpec(prefix + "attack_ms", "ms", 0.1, 200.0, 10.0, "log", doc="gain-reduction attack time constant"),
        ParamSpec(prefix + "release_ms", "ms", 5.0, 4000.0, 150.0, "log", doc="gain-reduction release time constant"),
        ParamSpec(prefix + "makeup_db", "dB", 0.0, 24.0, 0.0, "lin", 20.0, doc="make-up gain"),
    ]


def _duck(prefix: str = "duck.") -> list[ParamSpec]:
    """Ducking under an automix group's voices (channels and buses alike)."""
    return [
        ParamSpec(prefix + "group", "", 0, N_AUTOMIX_GROUPS, 0, "choice", choices=AUTOMIX_GROUPS,
                  doc="duck while that automix group's talkers are active (none: off)"),
        ParamSpec(prefix + "depth_db", "dB", -60.0, 0.0, -12.0, doc="gain while ducked"),
        ParamSpec(prefix + "threshold_db", "dB", -80.0, 0.0, -45.0,
                  doc="level (RMS) of the group's summed signal above which it ducks"),
        ParamSpec(prefix + "attack_ms", "ms", 1.0, 2000.0, 50.0, "log", doc="time constant going down"),
        ParamSpec(prefix + "hold_ms", "ms", 0.0, 5000.0, 500.0, doc="stay down this long after the voices stop"),
        ParamSpec(prefix + "release_ms", "ms", 10.0, 5000.0, 600.0, "log", doc="time constant coming back up"),
    ]


#: Channel strip, in signal order: trim, polarity, delay, HPF, gate, EQ, comp, fader, pan.
CHANNEL_SPECS: tuple[ParamSpec, ...] = tuple([
    ParamSpec("trim_db", "dB", -24.0, 24.0, 0.0, "lin", 20.0, step=0.25, doc="input trim"),
    _switch("polarity_invert", False, "invert the input polarity (ramped through zero)"),
    ParamSpec("delay_ms", "ms", 0.0, 500.0, 0.0, "lin", 20.0, doc="alignment delay (crossfaded on change)"),
    _switch("hpf.on", True, "high-pass filter in circuit"),
    ParamSpec("hpf.freq_hz", "Hz", 20.0, 1000.0, 80.0, "log", 20.0, doc="high-pass corner (-3 dB)"),
    ParamSpec("hpf.slope_db_oct", "dB/oct", 0, 1, 0, "choice", choices=HPF_SLOPES,
              doc="high-pass slope (Butterworth)"),
    _switch("gate.on", False, "noise gate / expander in circuit"),
    ParamSpec("gate.threshold_db", "dB", -90.0, 0.0, -50.0, doc="level at which the gate opens (peak)"),
    ParamSpec("gate.range_db", "dB", 0.0, 90.0, 40.0, doc="attenuation when closed (small = expander)"),
    ParamSpec("gate.attack_ms", "ms", 0.05, 200.0, 0.5, "log", doc="opening time constant"),
    ParamSpec("gate.hold_ms", "ms", 0.0, 2000.0, 50.0, doc="time held open after the level falls"),
    ParamSpec("gate.release_ms", "ms", 5.0, 4000.0, 150.0, "log", doc="closing time constant"),
    ParamSpec("gate.hysteresis_db", "dB", 0.0, 20.0, 6.0, doc="closing threshold below the opening one"),
    *_eq(),
    *_comp(),
    ParamSpec("automix.group", "", 0, N_AUTOMIX_GROUPS, 0, "choice", choices=AUTOMIX_GROUPS,
              doc="automix group the channel belongs to (none: not automixed)"),
    ParamSpec("automix.mode", "", 0, 2, 0, "choice", choices=AUTOMIX_MODES,
              doc="auto: gain sharing; manual: unity; mute: off (each change fades)"),
    ParamSpec("automix.weight_db", "dB", -12.0, 12.0, 0.0, "lin", 20.0, step=0.5,
              doc="automix weight: the channel counts this much louder in the sharing"),
    _switch("automix.chair", False, "the channel stays up when its group's override is engaged"),
    ParamSpec("automix.priority", "", 0, 3, 0, step=1.0,
              doc="gating mode: higher priority opens first when the open-mic limit is reached"),
    _switch("automix.always_on", False, "gating mode: always open, not counted against max_nom"),
    *_duck(),
    _switch("main_on", True, "channel feeds the main bus"),
    ParamSpec("fader_db", "dB", OFF_DB, 10.0, 0.0, "lin", 20.0, step=0.25, doc="channel fader (-90 = off)"),
    _switch("mute", False, "channel mute (ramped)"),
    ParamSpec("pan", "", -1.0, 1.0, 0.0, "lin", 20.0, doc="constant-power pan, -1 left .. +1 right"),
])

#: Bus processing: EQ, compressor, limiter, fader.
BUS_SPECS: tuple[ParamSpec, ...] = tuple([
    *_eq(),
    *_comp(),
    _switch("limiter.on", True, "brick-wall peak limiter (1 ms look-ahead) in circuit"),
    ParamSpec("limiter.ceiling_db", "dB", -30.0, 0.0, -1.0, "lin", 20.0, doc="limiter ceiling (sample peak)"),
    ParamSpec("limiter.release_ms", "ms", 1.0, 2000.0, 60.0, "log", doc="limiter release time constant"),
    ParamSpec("fader_db", "dB", OFF_DB, 10.0, 0.0, "lin", 20.0, step=0.25, doc="bus master fader"),
    _switch("mute", False, "bus mute (ramped)"),
    *_duck(),
])

#: A channel's send to one aux bus.
SEND_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("level_db", "dB", OFF_DB, 10.0, OFF_DB, "lin", 20.0, step=0.25, doc="send level (-90 = off)"),
    _switch("pre", False, "take the send before the fader (after the compressor)"),
)


#: One automix group (paths ``automix.<group>.<name>``).
AUTOMIX_SPECS: tuple[ParamSpec, ...] = (
    _switch("on", True, "the group automixes (off: every member at unity)"),
    ParamSpec("mode", "", 0, 1, 0, "choice", choices=AUTOMIX_GROUP_MODES,
              doc="share: Dugan gain sharing; gate: gated automixer with NOMA"),
    ParamSpec("sum", "", 0, 1, 0, "choice", choices=AUTOMIX_SUMS,
              doc="control level: of the summed signal (Dugan) or the power sum of the channels"),
    ParamSpec("slope", "", 1.0, 4.0, 1.0,
              doc="1: gain sharing; higher: a louder member takes more of the gain (gate-like), "
                  "the rest gains and the ambience stay"),
    ParamSpec("detector_attack_ms", "ms", 0.5, 100.0, 5.0, "log",
              doc="level detector attack while the level stands 10 dB over its noise floor (talk)"),
    ParamSpec("detector_release_ms", "ms", 10.0, 2000.0, 100.0, "log",
              doc="level detector release in talk: the next talker's share rises as soon as "
                  "the last one stops"),
    ParamSpec("ambience_attack_ms", "ms", 0.5, 1000.0, 50.0, "log",
              doc="level detector attack near the noise floor: room noise alone does not "
                  "flutter the shares"),
    ParamSpec("ambience_release_ms", "ms", 10.0, 2000.0, 400.0, "log",
              doc="level detector release near the noise floor"),
    ParamSpec("gain_attack_ms", "ms", 0.5, 100.0, 2.0, "log",
              doc="smoothing of the applied gains while they rise (a talker's first syllable)"),
    ParamSpec("gain_ms", "ms", 1.0, 100.0, 10.0, "log", doc="smoothing of the applied gains while they fall"),
    ParamSpec("mode_fade_ms", "ms", 0.0, 2000.0, 500.0, doc="fade of a channel's mode change"),
    ParamSpec("talk_threshold_db", "dB", -20.0, 0.0, -4.5,
              doc="telemetry: a member whose share is above this is talking"),
    _switch("override", False, "chair override: chairs to full, the others down by override_depth_db"),
    ParamSpec("override_depth_db", "dB", OFF_DB, 0.0, OFF_DB,
              doc="gain of the non-chair members while the override is engaged (-90 = muted)"),
    _switch("last_mic_hold", False, "keep the last talker at full gain while nobody talks"),
    ParamSpec("nom_limit", "", 0.0, 10.0, 0.0,
              doc="limit the sum of squared member gains to this many open mics (0 = off)"),
    ParamSpec("gate_margin_db", "dB", 0.0, 40.0, 10.0,
              doc="gating: a mic opens this far above its own tracked noise floor"),
    ParamSpec("gate_maxbus_db", "dB", 0.0, 20.0, 3.0,
              doc="gating: a mic opens only within this of the loudest member (one mic per source)"),
    ParamSpec("gate_hold_ms", "ms", 0.0, 5000.0, 400.0, doc="gating: time held open after the talker stops"),
    ParamSpec("gate_release_ms", "ms", 5.0, 2000.0, 150.0, "log", doc="gating: closing time constant"),
    ParamSpec("off_attenuation_db", "dB", 0.0, 90.0, 15.0, doc="gating: attenuation of a closed mic"),
    ParamSpec("max_nom", "", 1.0, 16.0, 3.0, step=1.0, doc="gating: most mics open at once"),
    _switch("noma", True, "gating: open mics share -10 log10 NOM of gain"),
    _switch("last_mic_on", True, "gating: the last mic opened stays open while nobody talks"),
)


def _slots(specs: tuple[ParamSpec, ...]) -> dict[str, int]:
    return {s.name: i for i, s in enumerate(specs)}


CH_SLOT = _slots(CHANNEL_SPECS)
BUS_SLOT = _slots(BUS_SPECS)
SEND_SLOT = _slots(SEND_SPECS)
AUTOMIX_SLOT = _slots(AUTOMIX_SPECS)
N_CH_PARAMS = len(CHANNEL_SPECS)
N_BUS_PARAMS = len(BUS_SPECS)
N_SEND_PARAMS = len(SEND_SPECS)
N_AUTOMIX_PARAMS = len(AUTOMIX_SPECS)


@dataclass
class ParamTable:
    """Every parameter path of one mixer layout, mapped to its flat index.

    Layout of the flat array: all channels' strips, then all buses, then
    every (channel, aux bus) send, then the automix groups.
    """

    n_channels: int
    bus_names: tuple[str, ...]
    paths: dict[str, tuple[int, ParamSpec]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_bus = len(self.bus_names)
        self.ch_base = 0
        self.bus_base = self.n_channels * N_CH_PARAMS
        self.send_base = self.bus_base + n_bus * N_BUS_PARAMS
        self.automix_base = self.send_base + self.n_channels * n_bus * N_SEND_PARAMS
        self.size = self.automix_base + N_AUTOMIX_GROUPS * N_AUTOMIX_PARAMS
        for ch in range(self.n_channels):
            for spec in CHANNEL_SPECS:
                self.paths[f"ch.{ch + 1}.{spec.name}"] = (self.channel_index(ch, spec.name), spec)
        for b, bus in enumerate(self.bus_names):
            for spec in BUS_SPECS:
                self.paths[f"bus.{bus}.{spec.name}"] = (self.bus_index(b, spec.name), spec)
        for ch in range(self.n_channels):
            for b, bus in enumerate(self.bus_names):
                if b == 0:
                    continue  # the main bus is fed by the fader and pan, not by a send
                for spec in SEND_SPECS:
                    self.paths[f"ch.{ch + 1}.send.{bus}.{spec.name}"] = (self.send_index(ch, b, spec.name), spec)
        for g in range(N_AUTOMIX_GROUPS):
            for spec in AUTOMIX_SPECS:
                self.paths[f"automix.{g + 1}.{spec.name}"] = (self.automix_index(g, spec.name), spec)

    def automix_index(self, g: int, name: str) -> int:
        return self.automix_base + g * N_AUTOMIX_PARAMS + AUTOMIX_SLOT[name]

    def channel_index(self, ch: int, name: str) -> int:
        return self.ch_base + ch * N_CH_PARAMS + CH_SLOT[name]

    def bus_index(self, b: int, name: str) -> int:
        return self.bus_base + b * N_BUS_PARAMS + BUS_SLOT[name]

    def send_index(self, ch: int, b: int, name: str) -> int:
        n_bus = len(self.bus_names)
        return self.send_base + (ch * n_bus + b) * N_SEND_PARAMS + SEND_SLOT[name]

    def lookup(self, path: str) -> tuple[int, ParamSpec]:
        """Index and spec of ``path``; KeyError with a did-you-mean otherwise."""
        try:
            return self.paths[path]
        except KeyError:
            raise KeyError(f"unknown parameter {path!r}{did_you_mean(path, self.paths)}") from None

    def defaults(self):
        import numpy as np

        values = np.zeros(self.size, dtype=np.float64)
        for index, spec in self.paths.values():
            values[index] = spec.default
        return values


def did_you_mean(word: str, candidates) -> str:
    """A ``"; did you mean 'x'?"`` suffix, or an empty string."""
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
