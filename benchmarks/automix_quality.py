"""Automixer quality benchmark: a generated round table rendered through the engine.

Run from the repository root::

    .venv/bin/python benchmarks/automix_quality.py            # full run, about 1.5 minutes
    .venv/bin/python benchmarks/automix_quality.py --quick    # shorter scenes, under a minute
    .venv/bin/python benchmarks/automix_quality.py --wav DIR  # also write the main mixes
    .venv/bin/python benchmarks/automix_quality.py --mix 'r100:detector_release_ms=100'
                                                   # an extra row with other group settings
    .venv/bin/python benchmarks/automix_quality.py --rev HEAD  # the engine as committed
                                                   # (compiles afresh: about 25 s more)

Needs ``espeak-ng`` on the PATH and the ``bench`` extra (pyroomacoustics); without
pyroomacoustics the room falls back to a numpy image-source model (direct path plus
the six first-order reflections, 1/r attenuation, fractional delays, no late tail).

The table
---------
4 and 8 talkers sit around a round table in a 6 x 5 x 3 m shoebox room (RT60 set to
0.45 s by Sabine's formula, image sources at 48 kHz, omnidirectional mics). Each talker
has a mic 0.4 m from the mouth, on the line to the table centre; every talker is heard
by every mic (bleed). Speech is espeak-ng, one voice and pitch per talker, resampled to
48 kHz, each utterance normalised to the same active level; a conversation alternates
turns with short gaps, longer silences and overlaps. Every mic also gets HVAC-like noise
(pink noise low-passed at 400 Hz, independent per mic) at ``--snr`` dB (default 20)
below the talkers' own-mic speech level. Speech level and SNR are set in the band the
automixer sees, after an 80 Hz second-order high-pass like the strip's.

Four mixes are rendered through ``Engine`` (HPF on at 80 Hz, everything else default,
main-bus limiter off): (a) static, every mic at unity, no automix; (b) gain sharing,
every mic in automix group 1 with default settings (slope 1, Dugan's rule); (c) the
same with ``slope = 2``, the setting for a table of omni mics; (d) the gating mode,
when the engine declares ``automix.1.mode`` (``"gate"``, its defaults), otherwise
reported as not available. Each automixed mix renders three scenes: the conversation, one steady
talker reading on, and noise alone; the static mix renders the conversation.

How the talkers are separated in the output (the bleed figures)
---------------------------------------------------------------
The automix gains depend on all mics together, so rendering one talker at a time would
give different gains; instead the gains of the full mix are recorded per sample and
applied to each talker's part. Every channel gets two measurement taps, mono aux buses
with a pre-fader and a post-fader send at 0 dB (bus EQ and limiter off): the strip up to
the automixer (HPF, flat EQ; gate and compressor are off) is linear and time-invariant,
the automixer multiplies that signal by its gain g_c[n], and the fader is at 0 dB, so
``post_c / pre_c`` is g_c[n] exactly wherever pre_c is not tiny (the gaps, a few
samples at zero crossings, are interpolated; the gain glides with a 10 ms time constant).
The strip's own linear response h is measured once from the engine (impulse into the
pre tap), so each talker's contribution at each mic after the strip is
``dry_k * rir_{k,c} * h``, and its contribution to the output is
``sum_c g_c[n] (dry_k * rir_{k,c} * h)[n]``. The talker's *own-mic path* (c = k) is the
signal; its path through every other mic is bleed. Signal-to-bleed is the energy ratio
over the samples where that talker alone is talking (overlaps excluded), pooled over
all turns; the static mix has g = 1. Three checks make the method falsifiable and are
printed: the sum of the separated parts plus filtered noise must reproduce the static
render's pre taps; ``sum_c post_c`` times the centre pan gain must reproduce the main
output; and the recovered gains, averaged as power over 10 ms, must match the engine's
own ``automix_gain_db`` telemetry read every 10 ms.

Figures
-------
- bleed: signal-to-bleed ratio (dB) in the main output and its improvement over the
  static mix;
- onset: for each turn, the time from the talker's onset (its own-mic speech, 5 ms
  power average, first within 15 dB of the turn's active level, i.e. 5 dB above the
  mic noise at the default SNR) until its channel gain is within 3 dB of its
  final value (median gain 100..400 ms after the onset); no look-ahead anywhere. Also
  "loss50": the own-mic path's energy in the first 50 ms after the onset at the actual
  gains, re the same at the final gain (dB; negative = the start of the word is lost);
- false opens per minute, noise alone at the same level as in the conversation (``--snr``
  dB below the speech): a channel opens when its gain rises to within 3 dB of full
  (0 dB); runs less than 50 ms apart count once; counted over all channels from 0.25 s
  (the detectors fill before that), a channel already open then counting as one opening;
  the engine's ``talking`` flag (telemetry every 10 ms) is counted the same way;
- gain modulation: standard deviation (dB) of the talker's own gain while one talker
  reads continuously (from 0.5 s after the onset to the end);
- output level constancy: main-output RMS in 400 ms windows (hop 100 ms) over windows
  at least 95 % covered by talking; spread = half the 5..95 percentile range (+-dB). The
  same figure for the "close-mic mix" (each talker's own-mic path alone, at unity) shows
  how much the speech itself varies (the literal figure cannot beat it); the spread of the
  output *relative to* the close-mic mix, window by window, is what the mix changes
  (bleed, reverberation and noise from the other mics, gain changes). Grouping those
  relative levels by who is talking gives the spread between talkers and the level of
  overlaps re single talk. "As talkers come and go": each turn's loudness (energy over
  its single-talk samples, at least 200 ms) in the output re the close-mic mix; the
  spread over the turns is +- half its range ("turns").

The output is a table, PASS/MISS beside the targets, and one ``JSON {...}`` line.
Nothing here asserts: a target line is a report. Generated speech and room responses
are cached under the system temp dir (``automixd-bench-cache``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import cpu_model, use_revision, working_tree_description
from scipy import signal

#: Bound by load_engine(): the installed (editable) package, or a commit's snapshot.
Engine = None

FS = 48000
CHUNK = 480  # telemetry period: 10 ms
ROOM_DIM = (6.0, 5.0, 3.0)
RT60_S = 0.45
MIC_HEIGHT, MOUTH_HEIGHT = 1.05, 1.20
MOUTH_TO_MIC = 0.40
#: Mic radius (from the table centre) for each table size.
MIC_RADIUS = {4: 0.55, 8: 1.00}
SPEECH_DBFS = -30.0  # own-mic active speech level after the strip's HPF
#: A turn's onset: its own-mic speech (5 ms centred power average, noise-free part)
#: first within this of the turn's active level. 15 dB is 5 dB above the mic noise at
#: the default SNR; softer word starts lie under the noise, where no level detector
#: can see them (with 25 dB, soft starts put the "onset" 75 ms before any mixer could act).
ONSET_DB = 15.0
SPLIT_GAP_S = 0.05  # open runs closer than this count as one opening
WARMUP_S = 1.0  # the conversation starts after this much noise
NOISE_SKIP_S = 0.25  # noise alone: opens are counted from here (detectors filling before)

#: (espeak-ng voice, pitch 0..99, words per minute): one per talker.
VOICES = (
    ("en+m3", 40, 150), ("en+f2", 60, 160), ("en-us+m1", 30, 145), ("en+f4", 75, 155),
    ("en-gb-scotland+m2", 50, 150), ("en-us+f3", 55, 165), ("en+m7", 25, 140),
    ("en-029+f1", 68, 150),
)
SENTENCES = (
    "Good morning everyone, shall we start with the budget review?",
    "I think the second quarter numbers look better than we expected.",
    "Can you share the slides from last week again, please?",
    "The supplier has moved the delivery to the end of the month.",
    "We should ask the design team before we commit to a date.",
    "That sounds reasonable, but the testing will take longer.",
    "Let me check the figures and send them round this afternoon.",
    "I disagree, the old plan had fewer risks for the launch.",
    "Who is taking the notes for today's meeting?",
    "The new office opens in March if the permits arrive on time.",
    "Could we move on to the hiring plan for the autumn?",
    "Two candidates accepted our offer yesterday evening.",
    "I would like to hear what the customers said about the trial.",
    "Most of them liked it, although the setup was confusing.",
    "Then we need a shorter guide and a video for the first steps.",
    "Right, I will draft it and circulate it before Friday.",
    "Is there anything else on the agenda before we close?",
    "Only the travel policy, and that can wait until next time.",
    "The server migration finished over the weekend without problems.",
    "Please remember to book the large room for the workshop.",
    "We are still waiting for the legal team to approve the contract.",
    "The figures for the northern region are still missing.",
    "I can take that action and report back on Monday.",
    "Thanks everyone, that was a productive discussion.",
)
#: Short replies: more turns, so more onsets, per minute of conversation.
REPLIES = (
    "Yes, exactly.", "I agree with that.", "Not really, no.", "Fine by me.",
    "Could you repeat that?", "Good point.", "Maybe next week.", "That works.",
    "I'm not so sure.", "Absolutely.", "Let's do it.", "Thanks, that helps.",
)
STEADY_TEXT = (
    "The history of the city begins with a small harbour on the river, where traders "
    "exchanged salt, wool and timber. Over three centuries the harbour grew into a port, "
    "and the port into a town with its own market, its own courts and its own walls. "
    "Most of the old walls have gone, but the market square is still where it was, and "
    "every Saturday morning it fills with stalls selling bread, cheese and vegetables "
    "from the farms around the valley."
)

CACHE = Path(tempfile.gettempdir()) / "automixd-bench-cache"
ENGINE_SOURCE = ""


# -- speech ----------------------------------------------------------------------
def espeak_version() -> str:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _frames_db(x: np.ndarray, frame: int) -> np.ndarray:
    n = len(x) // frame
    p = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    return 10.0 * np.log10(p + 1e-20)


def active_level_db(x: np.ndarray, below_max_db: float = 40.0) -> float:
    """RMS level (dB) over the 10 ms frames within ``below_max_db`` of the loudest."""
    f = _frames_db(x, FS // 100)
    act = f[f >= f.max() - below_max_db]
    return float(10.0 * np.log10(np.mean(10.0 ** (act / 10.0))))


def synth(voice: str, pitch: int, wpm: int, text: str, version: str) -> np.ndarray:
    """espeak-ng speech at 48 kHz, silence trimmed, active level -20 dBFS (cached)."""
    key = hashlib.sha1(f"{version}|{voice}|{pitch}|{wpm}|{text}".encode()).hexdigest()[:20]
    path = CACHE / "speech" / f"{key}.npy"
    if path.exists():
        return np.load(path)
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(wpm), "-w", str(wav),
                        text], check=True, capture_output=True)
        x, fs = sf.read(wav, dtype="float64")
    if x.ndim > 1:
        x = x[:, 0]
    g = math.gcd(FS, fs)
    x = signal.resample_poly(x, FS // g, fs // g)
    # trim leading and trailing silence (1 ms frames 50 dB below the loudest)
    f = _frames_db(x, FS // 1000)
    on = np.flatnonzero(f >= f.max() - 50.0)
    x = x[max(on[0] - 2, 0) * (FS // 1000):(on[-1] + 3) * (FS // 1000)]
    x *= 10.0 ** ((-20.0 - active_level_db(x)) / 20.0)
    x = x.astype(np.float32)
    np.save(path, x)
    return x


# -- room ------------------------------------------------------------------------
def positions(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mouth and mic positions (n, 3): talkers evenly around the table, each mic
    0.4 m from its talker's mouth on the line to the table centre."""
    cx, cy = ROOM_DIM[0] / 2, ROOM_DIM[1] / 2
    rm = MIC_RADIUS[n]
    dz = MOUTH_HEIGHT - MIC_HEIGHT
    rs = rm + math.sqrt(MOUTH_TO_MIC ** 2 - dz ** 2)
    a = 2 * np.pi * (np.arange(n) + 0.5) / n
    mouths = np.stack([cx + rs * np.cos(a), cy + rs * np.sin(a), np.full(n, MOUTH_HEIGHT)], 1)
    mics = np.stack([cx + rm * np.cos(a), cy + rm * np.sin(a), np.full(n, MIC_HEIGHT)], 1)
    return mouths, mics


def room_irs(n: int) -> tuple[np.ndarray, dict]:
    """Impulse responses rir[talker, mic, taps] (cached) and a description."""
    mouths, mics = positions(n)
    try:
        import pyroomacoustics as pra
    except ImportError:
        pra = None
    model = f"pyroomacoustics {pra.__version__} ShoeBox ISM" if pra else "numpy first-order images"
    key = hashlib.sha1(f"{model}|{ROOM_DIM}|{RT60_S}|{mouths.round(4).tolist()}|"
                       f"{mics.round(4).tolist()}".encode()).hexdigest()[:20]
    path = CACHE / "rooms" / f"{key}.npz"
    info = {"model": model, "dim_m": list(ROOM_DIM), "rt60_target_s": RT60_S,
            "mouth_to_mic_m": MOUTH_TO_MIC, "mic_radius_m": MIC_RADIUS[n]}
    if path.exists():
        z = np.load(path)
        rir = z["rir"]
        info.update(json.loads(str(z["info"])))
    else:
        if pra is not None:
            e_abs, max_order = pra.inverse_sabine(RT60_S, list(ROOM_DIM))
            room = pra.ShoeBox(list(ROOM_DIM), fs=FS, materials=pra.Material(e_abs),
                               max_order=max_order, air_absorption=False)
            for m in mouths:
                room.add_source(list(m))
            room.add_microphone_array(mics.T.copy())
            room.compute_rir()
            length = max(len(room.rir[c][k]) for c in range(n) for k in range(n))
            rir = np.zeros((n, n, length))
            for k in range(n):
                for c in range(n):
                    r = room.rir[c][k]
                    rir[k, c, :len(r)] = r
            try:
                rt = float(np.median([pra.experimental.measure_rt60(rir[k, k], FS)
                                      for k in range(n)]))
            except Exception:  # noqa: BLE001 - only a description
                rt = float("nan")
            extra = {"energy_absorption": round(float(e_abs), 4), "max_order": int(max_order),
                     "rt60_measured_s": round(rt, 3)}
        else:
            rir = _numpy_images(mouths, mics)
            extra = {"reflections": "direct + 6 first-order, wall reflection 0.7"}
        # own-mic direct path at unity: levels are set later in dB anyway
        rir = rir / np.max(np.abs(rir[np.arange(n), np.arange(n)]))
        rir = rir.astype(np.float32)
        info.update(extra)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, rir=rir, info=json.dumps(extra))
    d = np.linalg.norm(mouths[:, None, :] - mics[None, :, :], axis=2)
    info["own_mic_m"] = round(float(d[0, 0]), 3)
    info["other_mics_m"] = [round(float(v), 3) for v in np.unique(d[0, 1:].round(3))]
    return rir, info


def _numpy_images(mouths: np.ndarray, mics: np.ndarray) -> np.ndarray:
    """Fallback room: direct path and first-order wall images, 1/r, fractional delays."""
    n = len(mouths)
    refl = 0.7
    length = int(0.05 * FS)
    rir = np.zeros((n, n, length))
    taps = np.arange(-20, 21)
    for k, s in enumerate(mouths):
        images = [(s, 1.0)]
        for axis in range(3):
            for wall in (0.0, ROOM_DIM[axis]):
                im = s.copy()
                im[axis] = 2 * wall - s[axis]
                images.append((im, refl))
        for c, m in enumerate(mics):
            for pos, gain in images:
                r = float(np.linalg.norm(pos - m))
                t = r / 343.0 * FS + 20
                i0 = int(t)
                h = np.sinc(taps - (t - i0)) * np.hanning(len(taps) + 2)[1:-1]
                rir[k, c, i0 - 20:i0 + 21] += gain / r * h
    return rir


# -- noise -----------------------------------------------------------------------
def hvac_noise(n_ch: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Pink noise low-passed at 400 Hz (2nd order), flat below 20 Hz, independent per mic."""
    f = np.fft.rfftfreq(length, 1.0 / FS)
    shape = 1.0 / np.sqrt(np.maximum(f, 20.0)) / np.sqrt(1.0 + (f / 400.0) ** 4)
    out = np.empty((n_ch, length), dtype=np.float32)
    for c in range(n_ch):
        spec = np.fft.rfft(rng.standard_normal(length)) * shape
        y = np.fft.irfft(spec, length)
        out[c] = y / np.sqrt(np.mean(y * y))
    return out


# -- scenes ----------------------------------------------------------------------
@dataclass
class Turn:
    talker: int
    start: int  # sample at which the dry utterance starts
    dry: np.ndarray
    kind: str  # "first", "after silence", "after gap", "overlap"


def conversation(n: int, seconds: float, rng: np.random.Generator, pool: list[list[np.ndarray]]
                 ) -> list[Turn]:
    """Turns by talkers in shuffled rounds (no one twice in a row). The way each
    turn starts is dealt from shuffled decks of ten: two after a 1.0-1.6 s
    silence, five after a 0.15-0.6 s gap, three overlapping the previous turn
    by 0.4-1.0 s."""
    turns: list[Turn] = []
    used = [k % 2 for k in range(n)]  # half the talkers open with a short reply
    order: list[int] = []
    deck: list[str] = []
    end_all = int(WARMUP_S * FS)
    prev = None
    while True:
        if not order:
            order = [int(k) for k in rng.permutation(n)]
            if prev is not None and order[0] == prev.talker:
                order.append(order.pop(0))
        if not deck:
            deck = ["after silence"] * 2 + ["after gap"] * 5 + ["overlap"] * 3
            deck = [deck[i] for i in rng.permutation(len(deck))]
        k = order.pop(0)
        dry = pool[k][used[k] % len(pool[k])]
        used[k] += 1
        kind = "first" if prev is None else deck.pop(0)
        if kind == "first":
            start = end_all
        elif kind == "after silence":
            start = end_all + int(rng.uniform(1.0, 1.6) * FS)
        elif kind == "after gap":
            start = end_all + int(rng.uniform(0.15, 0.6) * FS)
        else:
            start = max(end_all - int(rng.uniform(0.4, 1.0) * FS), prev.start + FS // 2)
        if start + len(dry) > seconds * FS - FS // 2:
            break
        t = Turn(k, start, dry, kind)
        turns.append(t)
        end_all = max(end_all, start + len(dry))
        prev = t
    return turns


class Take:
    """Mic signals of one scene and each turn's separated, strip-filtered images."""

    def __init__(self, n: int, length: int, turns: list[Turn], rir: np.ndarray, rir_h: np.ndarray,
                 h: np.ndarray, noise_dbfs: float, rng: np.random.Generator, gain: float) -> None:
        self.n, self.length, self.turns = n, length, turns
        self.x = np.zeros((n, length), dtype=np.float32)
        self.himg: list[np.ndarray] = []  # per turn (n mics, span): after the strip's filter
        for t in turns:
            raw = signal.oaconvolve(t.dry[None, :] * gain, rir[t.talker], axes=1)
            fil = signal.oaconvolve(t.dry[None, :] * gain, rir_h[t.talker], axes=1)
            span = min(raw.shape[1], length - t.start)
            self.x[:, t.start:t.start + span] += raw[:, :span]
            self.himg.append(fil[:, :span].astype(np.float32))
        noise = hvac_noise(n, length, rng)
        hn = signal.oaconvolve(noise, h[None, :], axes=1)[:, :length]
        scale = 10.0 ** (noise_dbfs / 20.0) / np.sqrt(np.mean(hn * hn))
        self.x += (noise * scale).astype(np.float32)
        self.hnoise = (hn * scale).astype(np.float32)
        # talking spans (dry utterance, in mic time) and per-talker masks
        self.active = np.zeros((n, length), dtype=bool)
        for t in turns:
            self.active[t.talker, t.start:min(t.start + len(t.dry), length)] = True

    def filtered(self) -> np.ndarray:
        """Sum of the separated parts: what the strip's pre tap must equal."""
        y = self.hnoise.astype(np.float64)
        for t, im in zip(self.turns, self.himg, strict=True):
            y[:, t.start:t.start + im.shape[1]] += im
        return y


# -- engine ----------------------------------------------------------------------


def load_engine(rev: str | None) -> str:
    """Import the engine: the installed (editable) package, or ``rev``'s commit taken
    with ``git archive`` into a temporary directory first on ``sys.path`` (so a commit
    can be measured while the working tree is being edited). Returns a description."""
    global Engine
    if rev:
        commit = use_revision(rev, "automixd-quality-src-")
    from automixd.engine import Engine as _Engine

    Engine = _Engine
    if rev:
        return f"commit {commit} (git archive)"
    return working_tree_description()


#: The mixes: (a) static, (b) gain sharing with defaults, (c) the gating mode with
#: defaults. ``--mix NAME:key=value,...`` adds rows with other group settings.
#: static: no automix; share: gain sharing with the defaults; share s2: slope 2, the
#: setting for a table of omni mics (a louder member takes more of the gain); gate: the
#: gating mode with its defaults.
MIXES: dict[str, dict | None] = {"static": None, "share": {}, "share s2": {"slope": 2.0},
                                 "gate": {"mode": "gate"}}


def gating_available() -> bool:
    return "automix.1.mode" in Engine.from_scene({"channels": 1}).plan.table.paths


def scene_dict(n: int, mix: str) -> dict:
    """All mics on unity faders, HPF 80 Hz, main limiter off; two measurement taps per
    channel (mono aux buses, pre- and post-fader sends at 0 dB, bus EQ and limiter off)."""
    ch, bus = {}, {"main": {"limiter": {"on": False}}}
    group = MIXES[mix]
    for c in range(1, n + 1):
        t = {"hpf": {"on": True, "freq_hz": 80.0},
             "send": {f"pre{c}": {"level_db": 0.0, "pre": True},
                      f"post{c}": {"level_db": 0.0, "pre": False}}}
        if group is not None:
            t["automix"] = {"group": "1"}
        ch[str(c)] = t
        for tap in ("pre", "post"):
            bus[f"{tap}{c}"] = {"channels": 1, "limiter": {"on": False}, "eq": {"on": False}}
    scene = {"sample_rate": FS, "channels": n, "ch": ch, "bus": bus}
    if group:
        scene["automix"] = {"1": dict(group)}
    return scene


@dataclass
class Render:
    main: np.ndarray  # (frames,) main left, aligned to the inputs
    pre: np.ndarray  # (n, frames) pre-fader taps
    post: np.ndarray  # (n, frames) post-fader taps
    gain: np.ndarray  # (n, frames) automix gain per sample (amplitude)
    talking: np.ndarray  # (n, periods) telemetry flag every 10 ms
    tel_gain_db: np.ndarray  # (n, periods) telemetry automix_gain_db every 10 ms
    valid_frac: float  # share of samples where post/pre was usable


def render(n: int, mix: str, x: np.ndarray) -> Render:
    """Run ``x`` (n, frames) through a fresh engine in 10 ms blocks, reading telemetry
    after each; outputs are shifted by the engine's latency to line up with ``x``."""
    eng = Engine.from_scene(scene_dict(n, mix))
    lat = eng.latency
    frames = x.shape[1]
    total = frames + lat
    xin = np.zeros((n, total), dtype=np.float32)
    xin[:, :frames] = x
    out = np.zeros((eng.n_outputs, total), dtype=np.float32)
    periods = -(-total // CHUNK)
    talking = np.zeros((n, periods))
    tel_g = np.zeros((n, periods))
    buf = np.empty((eng.n_outputs, CHUNK), dtype=np.float32)
    for i in range(periods):
        s, e = i * CHUNK, min((i + 1) * CHUNK, total)
        o = buf if e - s == CHUNK else np.empty((eng.n_outputs, e - s), np.float32)
        eng.process(xin[:, s:e], out=o)
        out[:, s:e] = o
        tel = eng.telemetry()
        talking[:, i] = tel["talking"]
        tel_g[:, i] = tel["automix_gain_db"]
    pre = np.stack([out[eng.bus_rows(f"pre{c}").start, lat:] for c in range(1, n + 1)])
    post = np.stack([out[eng.bus_rows(f"post{c}").start, lat:] for c in range(1, n + 1)])
    gain, valid = gains_from_taps(pre, post)
    return Render(out[0, lat:].astype(np.float64), pre, post, gain, talking, tel_g, valid)


def gains_from_taps(pre: np.ndarray, post: np.ndarray) -> tuple[np.ndarray, float]:
    """g = post / pre where |pre| is usable; linear interpolation across the rest."""
    pre64, post64 = pre.astype(np.float64), post.astype(np.float64)
    ok = np.abs(pre64) > 1e-6
    g = np.ones_like(pre64)
    idx = np.arange(pre.shape[1])
    for c in range(pre.shape[0]):
        v = ok[c]
        if v.any():
            g[c] = np.interp(idx, idx[v], post64[c, v] / pre64[c, v])
    return np.maximum(g, 0.0), float(ok.mean())


def strip_response(n: int) -> np.ndarray:
    """Impulse response of a channel strip up to the automixer (pre tap), 0.25 s."""
    eng = Engine.from_scene(scene_dict(n, "static"))
    length = FS // 4 + eng.latency
    x = np.zeros((n, length), dtype=np.float32)
    x[0, 0] = 1.0
    out = eng.process(x)
    return out[eng.bus_rows("pre1").start, eng.latency:].astype(np.float64)


def method_checks(n: int, take: Take, r: Render, filtered: np.ndarray) -> dict:
    """The three checks of the separation (see the module doc), in dB."""
    res_pre = db(float(np.sum((r.pre - filtered) ** 2)) / float(np.sum(filtered ** 2)))
    main_re = r.post.astype(np.float64).sum(axis=0) * math.cos(math.pi / 4)  # centre pan
    res_main = db(float(np.sum((r.main - main_re) ** 2)) / float(np.sum(r.main ** 2)))
    whole = (r.gain.shape[1] // CHUNK) * CHUNK
    g2 = (r.gain[:, :whole] ** 2).reshape(n, -1, CHUNK).mean(axis=2)
    tel_err = float(np.max(np.abs(10.0 * np.log10(g2) - r.tel_gain_db[:, :g2.shape[1]])))
    return {"pre_tap_residual_db": res_pre, "main_residual_db": res_main,
            "gain_vs_telemetry_max_db": tel_err, "tap_valid_fraction": r.valid_frac}


# -- metrics ---------------------------------------------------------------------
def db(p: float) -> float:
    return 10.0 * math.log10(p) if p > 0 else -math.inf


def to_db(g: np.ndarray) -> np.ndarray:
    return 20.0 * np.log10(np.maximum(g, 1e-6))


def runs(flags: np.ndarray, merge: int) -> int:
    """Rising edges of ``flags`` after merging runs separated by fewer than ``merge`` samples."""
    on = np.flatnonzero(flags)
    if len(on) == 0:
        return 0
    return int(1 + np.count_nonzero(np.diff(on) > merge))


def mic_levels(take: Take) -> dict:
    """Where the talkers are heard: energy at each other mic re the own mic (after the
    strip's HPF, pooled over turns), and all other mics together."""
    e = np.zeros((take.n, take.n))
    for t, im in zip(take.turns, take.himg, strict=True):
        e[t.talker] += np.sum(im.astype(np.float64) ** 2, axis=1)
    rel = []
    together = []
    for k in range(take.n):
        if e[k, k] > 0:
            others = np.delete(e[k], k) / e[k, k]
            rel.append(np.sort(10.0 * np.log10(others))[::-1])
            together.append(db(float(others.sum())))
    rel = np.array(rel)
    return {"nearest_other_db": float(np.mean(rel[:, 0])), "mean_other_db": float(np.mean(rel)),
            "farthest_other_db": float(np.mean(rel[:, -1])),
            "all_others_together_db": float(np.mean(together))}


def separated(take: Take, gain: np.ndarray) -> dict:
    """Signal-to-bleed and signal-to-noise in the output, single-talk samples only."""
    others = take.active.sum(axis=0)
    s_own = s_bleed = s_noise = 0.0
    per_talker = np.zeros((take.n, 2))
    noise_out = np.einsum("cn,cn->n", gain, take.hnoise.astype(np.float64))
    for t, im in zip(take.turns, take.himg, strict=True):
        sl = slice(t.start, t.start + im.shape[1])
        g = gain[:, sl]
        own = g[t.talker] * im[t.talker]
        bleed = np.einsum("cn,cn->n", g, im) - own
        alone = take.active[t.talker, sl] & (others[sl] == 1)
        eo, eb = float(np.sum(own[alone] ** 2)), float(np.sum(bleed[alone] ** 2))
        s_own += eo
        s_bleed += eb
        s_noise += float(np.sum(noise_out[sl][alone] ** 2))
        per_talker[t.talker] += (eo, eb)
    sbr_talkers = [db(o / b) for o, b in per_talker if o > 0 and b > 0]
    return {"sbr_db": db(s_own / s_bleed), "snr_db": db(s_own / s_noise),
            "sbr_min_talker_db": min(sbr_talkers), "sbr_max_talker_db": max(sbr_talkers)}


def onsets(take: Take, gain: np.ndarray) -> list[dict]:
    """Per turn: ms from the talker's onset until its gain is within 3 dB of its final
    value; and the own-path energy of the first 50 ms re that at the final gain (dB)."""
    gdb = to_db(gain)
    env_len = FS // 200
    result = []
    for t, im in zip(take.turns, take.himg, strict=True):
        own = im[t.talker, :len(t.dry)].astype(np.float64)
        env = np.convolve(own * own, np.ones(env_len) / env_len, mode="same")
        level = 10.0 ** (active_level_db(own) / 10.0)
        i0 = int(np.argmax(env >= level * 10.0 ** (-ONSET_DB / 10.0)))
        n0 = t.start + i0
        a, b = n0 + int(0.1 * FS), min(n0 + int(0.4 * FS), t.start + len(t.dry))
        final = float(np.median(gdb[t.talker, a:b]))
        reach = np.flatnonzero(gdb[t.talker, n0:b] >= final - 3.0)
        ms = 1000.0 * reach[0] / FS if len(reach) else math.inf
        first = own[i0:i0 + FS // 20]
        g50 = gain[t.talker, n0:n0 + len(first)]
        loss = db(float(np.sum((g50 * first) ** 2)) /
                  float(np.sum((10.0 ** (final / 20.0) * first) ** 2)))
        # was the mic already up before the talker started (held, or opened by bleed)?
        before = bool(gdb[t.talker, n0 - FS // 200] >= final - 3.0)
        result.append({"talker": t.talker, "kind": t.kind, "ms": ms, "loss50_db": loss,
                       "final_db": final, "start_db": float(gdb[t.talker, n0]),
                       "open_before": before})
    return result


def level_windows(y: np.ndarray, covered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dB RMS of ``y`` in 400 ms windows (100 ms hop) at least 95 % covered by talking;
    also the windows' start samples."""
    w, hop = int(0.4 * FS), int(0.1 * FS)
    starts = np.arange(0, len(y) - w, hop)
    c = np.concatenate([[0], np.cumsum(covered)])
    e = np.concatenate([[0.0], np.cumsum(y * y)])
    s = starts[(c[starts + w] - c[starts]) >= 0.95 * w]
    return 10.0 * np.log10((e[s + w] - e[s]) / w + 1e-30), s


def spread(levels: np.ndarray) -> float:
    """Half the 5..95 percentile range, dB."""
    if len(levels) < 2:
        return math.nan
    p5, p95 = np.percentile(levels, [5, 95])
    return float(p95 - p5) / 2.0


def constancy(take: Take, r: Render) -> dict:
    """Output level in 400 ms windows while anyone talks; the close-mic mix (each
    talker's own-mic path alone, unity) as the reference; and the output re that
    reference grouped by who is talking (each talker alone; overlaps)."""
    covered = take.active.any(axis=0)
    close = np.zeros(take.length)
    for t, im in zip(take.turns, take.himg, strict=True):
        close[t.start:t.start + im.shape[1]] += im[t.talker]
    # main left with the centre pan's -3 dB undone, so levels compare with the close-mic mix
    out_db, starts = level_windows(r.main / math.cos(math.pi / 4), covered)
    ref_db, _ = level_windows(close, covered)
    rel = out_db - ref_db
    w = int(0.4 * FS)
    cum = np.concatenate([np.zeros((take.n, 1)), np.cumsum(take.active, axis=1)], axis=1)
    share = (cum[:, starts + w] - cum[:, starts]) / w  # (talkers, windows)
    groups: dict = {}
    for i in range(len(starts)):
        key = tuple(int(k) for k in np.flatnonzero(share[:, i] >= 0.5))
        if key:
            groups.setdefault(key, []).append(rel[i])
    means = {k: float(np.mean(v)) for k, v in groups.items() if len(v) >= 3}
    single = [m for k, m in means.items() if len(k) == 1]
    multi = [x for k, v in groups.items() if len(k) > 1 for x in v]
    solo = [x for k, v in groups.items() if len(k) == 1 for x in v]
    # as talkers come and go: each turn's loudness (its single-talk samples) re the
    # close-mic mix, spread over the turns (+-, half the range)
    alone = take.active.sum(axis=0) == 1
    out = r.main / math.cos(math.pi / 4)
    per_turn = []
    for t in take.turns:
        s, e = t.start, min(t.start + len(t.dry), take.length)
        m = alone[s:e] & take.active[t.talker, s:e]
        if m.sum() >= 0.2 * FS:
            per_turn.append(db(float(np.sum(out[s:e][m] ** 2)) / float(np.sum(close[s:e][m] ** 2))))
    turn_spread = (max(per_turn) - min(per_turn)) / 2.0 if len(per_turn) > 1 else math.nan
    return {"spread_db": spread(out_db), "close_mic_spread_db": spread(ref_db),
            "turn_spread_db": turn_spread, "turns_measured": len(per_turn),
            "re_close_mic_spread_db": spread(rel), "re_close_mic_mean_db": float(np.mean(rel)),
            "talker_range_db": float(max(single) - min(single)) if len(single) > 1 else math.nan,
            "overlap_minus_single_db": float(np.mean(multi) - np.mean(solo))
            if multi and solo else math.nan,
            "windows": len(out_db), "overlap_windows": len(multi)}


def automix_figures(take_c: Take, take_s: Take, rc: Render, rs: Render, rn: Render, n: int
                    ) -> dict:
    """Onsets (conversation), false opens (noise alone), modulation (steady talker)."""
    on = onsets(take_c, rc.gain)
    ms = np.array([o["ms"] for o in on])
    quiet = np.array([o["ms"] for o in on if o["kind"] in ("first", "after silence")])
    rec = {"onset_median_ms": float(np.median(ms)), "onset_p90_ms": float(np.percentile(ms, 90)),
           "onset_max_ms": float(np.max(ms)),
           "onset_after_silence_median_ms": float(np.median(quiet)) if len(quiet) else None,
           "onset_loss50_median_db": float(np.median([o["loss50_db"] for o in on])),
           "onsets_open_before": sum(o["open_before"] for o in on), "turns": len(on),
           "onsets": on}
    # noise alone: a channel opens when its gain comes within 3 dB of full; one
    # already open when the count starts counts as an opening
    skip = int(NOISE_SKIP_S * FS)
    gdb = to_db(rn.gain[:, skip:])
    minutes = gdb.shape[1] / FS / 60.0
    opens = sum(runs(gdb[c] >= -3.0, int(SPLIT_GAP_S * FS)) for c in range(n))
    p0 = skip // CHUNK
    flags = sum(runs(rn.talking[c, p0:] >= 0.5, int(SPLIT_GAP_S * FS) // CHUNK) for c in range(n))
    rec.update({"false_opens_per_min": opens / minutes, "talking_flags_per_min": flags / minutes,
                "noise_gain_max_db": float(gdb.max()),
                "noise_gain_mean_db": float(10.0 * np.log10(np.mean(rn.gain[:, skip:] ** 2))),
                "noise_gain_std_db": float(np.mean(np.std(gdb, axis=1)))})
    # steady talker: talker 1 reads on; from 0.5 s after its start to its end
    t0 = take_s.turns[0]
    gs = to_db(rs.gain[:, t0.start + FS // 2:t0.start + len(t0.dry)])
    rec.update({"modulation_std_db": float(np.std(gs[0])),
                "modulation_mean_db": float(np.mean(gs[0])),
                "others_std_db": float(np.mean(np.std(gs[1:], axis=1))),
                "others_mean_db": float(np.mean(gs[1:]))})
    return rec


# -- report ------------------------------------------------------------------------
def machine() -> dict:
    model = cpu_model()
    import numba

    try:
        import pyroomacoustics as pra

        pra_version = pra.__version__
    except ImportError:
        pra_version = None
    return {"engine": ENGINE_SOURCE, "nproc": os.cpu_count(), "cpu": model,
            "python": platform.python_version(), "numba": numba.__version__,
            "numpy": np.__version__, "pyroomacoustics": pra_version,
            "espeak_ng": espeak_version().split("  ")[0],
            "loadavg_start": [round(v, 2) for v in os.getloadavg()]}


def fmt(v, spec: str = ".1f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return format(v, spec)


def rnd(v, nd: int = 2):
    if isinstance(v, float):
        return round(v, nd) if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: rnd(x, nd) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [rnd(x, nd) for x in v]
    return v


def print_tables(results: dict, checks: dict, mixes: list[str]) -> None:
    h1 = (" tlk mix      |  SBR  dSBR |   SNR  dSNR | level +-dB: out close re-close |"
          " re-close dB: mean talkers overlap turns")
    print(h1)
    print("-" * len(h1))
    for n in results:
        for mix in mixes:
            if mix not in results[n]:
                print(f" {n:3d} {mix:8s} | gating mode not available")
                continue
            r = results[n][mix]
            d_sbr = "-" if mix == "static" else fmt(r["sbr_gain_db"])
            d_snr = "-" if mix == "static" else fmt(r["snr_gain_db"])
            levels = (f"{fmt(r['spread_db'], '.2f'):>15s} "
                      f"{fmt(r['close_mic_spread_db'], '.2f'):>5s} "
                      f"{fmt(r['re_close_mic_spread_db'], '.2f'):>8s}")
            print(f" {n:3d} {mix:8s} | {fmt(r['sbr_db']):>5s} {d_sbr:>5s} | {fmt(r['snr_db']):>5s} "
                  f"{d_snr:>5s} | {levels} | {fmt(r['re_close_mic_mean_db'], '+.1f'):>17s} "
                  f"{fmt(r['talker_range_db']):>7s} "
                  f"{fmt(r['overlap_minus_single_db'], '+.1f'):>7s} "
                  f"{fmt(r['turn_spread_db'], '.2f'):>5s}")
    print()
    h2 = (" tlk mix      | onset ms: med   p90   max quiet  up | loss50 dB | opens/min gain  flag |"
          " noise gain max | mod std: own others")
    print(h2)
    print("-" * len(h2))
    for n in results:
        for mix in [m for m in mixes if m != "static"]:
            if mix not in results[n]:
                print(f" {n:3d} {mix:8s} | gating mode not available")
                continue
            r = results[n][mix]
            print(f" {n:3d} {mix:8s} | {fmt(r['onset_median_ms']):>13s} "
                  f"{fmt(r['onset_p90_ms']):>5s} "
                  f"{fmt(r['onset_max_ms']):>5s} {fmt(r['onset_after_silence_median_ms']):>5s} "
                  f"{r['onsets_open_before']:>3d} | "
                  f"{fmt(r['onset_loss50_median_db']):>9s} | {fmt(r['false_opens_per_min']):>14s} "
                  f"{fmt(r['talking_flags_per_min']):>5s} | {fmt(r['noise_gain_max_db']):>14s} | "
                  f"{fmt(r['modulation_std_db'], '.2f'):>12s} {fmt(r['others_std_db'], '.2f'):>6s}")
    print()
    print("SBR  own-mic path / the same talker through all other mics, in the main output,")
    print("     single-talk samples, dB; dSBR: change vs static (bleed suppression). SNR: own-mic")
    print("     path / noise of all mics. level: 400 ms RMS spread (+-, half the 5..95 % range) of")
    print("     the output, of the close-mic mix, and of output re close-mic mix (window by")
    print("     window); re-close: output re close-mic mix, mean over windows, range of the")
    print("     per-talker means, overlap windows minus single-talk windows, and each turn's")
    print("     loudness re the close-mic mix, spread over the turns (+-, half the range).")
    print("onset: ms to within 3 dB of the final gain (quiet: turns after >= 1 s of silence;")
    print("     up: turns whose mic was already within 3 dB of its final gain 5 ms before);")
    print("     loss50: own-path energy in the first 50 ms re the final gain. opens/min on noise")
    print("     alone: gain within 3 dB of full / engine 'talking' flag. mod std: steady talker.")
    print()
    worst = {key: max(v[key] for v in checks.values()) for key in
             ("pre_tap_residual_db", "main_residual_db", "gain_vs_telemetry_max_db")}
    print(f"method checks (worst over renders): separated parts vs pre taps "
          f"{worst['pre_tap_residual_db']:.1f} dB; post taps vs main "
          f"{worst['main_residual_db']:.1f} dB;"
          f" recovered gains vs telemetry {worst['gain_vs_telemetry_max_db']:.4f} dB max")


# -- main ----------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter scenes (under a minute)")
    ap.add_argument("--snr", type=float, default=20.0, help="speech-to-noise ratio at each mic, dB")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--wav", type=Path, help="write the conversation's main mixes into this folder")
    ap.add_argument("--clear-cache", action="store_true", help="regenerate speech and rooms")
    ap.add_argument("--mix", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                    help="extra row: group 1 with these automix.1.* settings, e.g. "
                         "'r100:detector_release_ms=100,slope=2' (repeatable; no targets)")
    ap.add_argument("--rev", help="measure this commit's engine (git archive), not the "
                                  "working tree")
    args = ap.parse_args()
    global ENGINE_SOURCE
    ENGINE_SOURCE = load_engine(args.rev)
    for spec in args.mix:
        name, _, settings = spec.partition(":")
        group = {}
        for item in filter(None, settings.split(",")):
            key, _, value = item.partition("=")
            try:
                group[key.strip()] = float(value)
            except ValueError:
                group[key.strip()] = value.strip()
        MIXES[name.strip()] = group
    t_start = time.perf_counter()
    if shutil.which("espeak-ng") is None:
        print("espeak-ng not found (apt-get install espeak-ng)", file=sys.stderr)
        return 2
    if args.clear_cache:
        shutil.rmtree(CACHE, ignore_errors=True)
    durations = ({"conversation_s": 30.0, "steady_s": 6.0, "noise_s": 20.0} if args.quick else
                 {"conversation_s": 60.0, "steady_s": 12.0, "noise_s": 60.0})
    mach = machine()
    gate = gating_available()
    mixes = [m for m in MIXES if gate or m != "gate"]
    for m in mixes:  # fail early on a misspelt --mix setting
        if m != "static":
            Engine.from_scene(scene_dict(4, m))
    version = mach["espeak_ng"]

    pool = []
    for k, (voice, pitch, wpm) in enumerate(VOICES):
        texts = [SENTENCES[(k * 5 + i * 7) % len(SENTENCES)] for i in range(3)]
        texts += [REPLIES[(k * 3 + i * 5) % len(REPLIES)] for i in range(3)]
        texts = [texts[i] for i in (0, 3, 1, 4, 2, 5)]  # long and short alternate
        pool.append([synth(voice, pitch, wpm, s, version) for s in texts])
    steady_dry = synth(*VOICES[0], STEADY_TEXT, version)
    steady_dry = steady_dry[:int((durations["steady_s"] - 1.5) * FS)]

    results: dict = {}
    checks: dict = {}
    setup: dict = {}
    for n in (4, 8):
        t_n = time.perf_counter()
        rng = np.random.default_rng(args.seed * 100 + n)
        rir, info = room_irs(n)
        h = strip_response(n)
        rir_h = np.stack([signal.oaconvolve(rir[k], h[None, :], axes=1) for k in range(n)])
        # own-mic active speech level after the strip, averaged over talkers -> SPEECH_DBFS
        lv = [active_level_db(signal.oaconvolve(pool[k][0], rir_h[k, k])) for k in range(n)]
        gain = 10.0 ** ((SPEECH_DBFS - float(np.mean(lv))) / 20.0)
        noise_dbfs = SPEECH_DBFS - args.snr
        turns = conversation(n, durations["conversation_s"], rng, pool)
        conv = Take(n, int(durations["conversation_s"] * FS), turns, rir, rir_h, h, noise_dbfs,
                    rng, gain)
        steady = Take(n, int(durations["steady_s"] * FS), [Turn(0, FS, steady_dry, "first")], rir,
                      rir_h, h, noise_dbfs, rng, gain)
        noise = Take(n, int(durations["noise_s"] * FS), [], rir, rir_h, h, noise_dbfs, rng, gain)
        kinds: dict = {}
        for t in turns:
            kinds[t.kind] = kinds.get(t.kind, 0) + 1
        setup[n] = {"room": info, "mic_levels": mic_levels(conv), "turns": len(turns),
                    "kinds": kinds,
                    "talk_s": round(float(conv.active.any(axis=0).sum()) / FS, 1),
                    "overlap_s": round(float((conv.active.sum(axis=0) >= 2).sum()) / FS, 1)}
        filtered = conv.filtered()
        results[n] = {}
        for mix in mixes:
            rc = render(n, mix, conv.x)
            if args.wav:
                import soundfile as sf

                args.wav.mkdir(parents=True, exist_ok=True)
                name = f"table{n}_{mix.replace(' ', '_')}.wav"
                sf.write(args.wav / name, rc.main.astype(np.float32), FS)
            checks[f"{n} {mix}"] = method_checks(n, conv, rc, filtered)
            rec = separated(conv, rc.gain)
            rec.update(constancy(conv, rc))
            if mix != "static":
                rec.update(automix_figures(conv, steady, rc, render(n, mix, steady.x),
                                           render(n, mix, noise.x), n))
                rec["sbr_gain_db"] = rec["sbr_db"] - results[n]["static"]["sbr_db"]
                rec["snr_gain_db"] = rec["snr_db"] - results[n]["static"]["snr_db"]
            results[n][mix] = rec
        setup[n]["wall_s"] = round(time.perf_counter() - t_n, 1)

    # -- report ----------------------------------------------------------------------
    mode_name = "quick" if args.quick else "full"
    print(f"automixd automix quality benchmark ({mode_name})")
    print(f"{mach['nproc']} cpu  {mach['cpu']}  python {mach['python']}  numba {mach['numba']}  "
          f"pyroomacoustics {mach['pyroomacoustics']}  {mach['espeak_ng']}")
    print(f"engine: {mach['engine']}; gating mode {'available' if gate else 'not available'}")
    room = setup[4]["room"]
    print(f"room: {room['model']}, {' x '.join(f'{v:g}' for v in ROOM_DIM)} m, RT60 {RT60_S} s by "
          f"Sabine (measured {room.get('rt60_measured_s', '-')} s), omni mics, own mic "
          f"{room['own_mic_m']} m from the mouth")
    for n in (4, 8):
        s, ml = setup[n], setup[n]["mic_levels"]
        print(f"  {n} talkers: other mics {s['room']['other_mics_m'][0]:.2f}.."
              f"{s['room']['other_mics_m'][-1]:.2f} m away; a talker at the other mics re own "
              f"mic: nearest {ml['nearest_other_db']:.1f}, mean {ml['mean_other_db']:.1f}, all "
              f"together {ml['all_others_together_db']:+.1f} dB")
        print(f"      conversation {durations['conversation_s']:g} s: {s['turns']} turns "
              f"({', '.join(f'{v} {k}' for k, v in s['kinds'].items())}), talking {s['talk_s']} s,"
              f" overlapping {s['overlap_s']} s")
    print(f"noise: pink, low-passed 400 Hz, independent per mic, {args.snr:g} dB below the "
          f"speech ({SPEECH_DBFS:g} dBFS active at the own mic), both after the 80 Hz HPF")
    print(f"steady talker {len(steady_dry) / FS:.1f} s; noise alone {durations['noise_s']:g} s")
    print()
    print_tables(results, checks, list(MIXES))
    print()

    targets: dict = {}

    def target(key: str, label: str, value, goal: str, ok: bool) -> None:
        verdict = "PASS" if ok else "MISS"
        targets[key] = {"label": label, "value": value, "target": goal, "result": verdict}
        shown = value if isinstance(value, str) else fmt(value)
        print(f"  {label:58s} {shown:>11s}  target {goal:6s} {verdict}")

    print("targets:")
    for mix in ("share", "share s2", "gate"):
        if mix not in results[4]:
            targets[mix] = "gating mode not available"
            print(f"  {mix}: gating mode not available")
            continue
        for n in (4, 8):
            r = results[n][mix]
            if n == 4:
                target(f"{mix} {n} bleed", f"{mix}, {n} talkers: bleed suppression vs static, dB",
                       r["sbr_gain_db"], ">= 10", r["sbr_gain_db"] >= 10.0)
            target(f"{mix} {n} onset", f"{mix}, {n} talkers: onset, median (p90) ms",
                   f"{fmt(r['onset_median_ms'])} ({fmt(r['onset_p90_ms'])})", "<= 10",
                   r["onset_median_ms"] <= 10.0)
            target(f"{mix} {n} false opens",
                   f"{mix}, {n} talkers: false opens/min, noise alone at {args.snr:g} dB SNR",
                   r["false_opens_per_min"], "0", r["false_opens_per_min"] == 0.0)
            target(f"{mix} {n} level", f"{mix}, {n} talkers: output level spread, +-dB",
                   r["spread_db"], "<= 1", r["spread_db"] <= 1.0)
            target(f"{mix} {n} level re close-mic",
                   f"{mix}, {n} talkers:   same, output re close-mic mix, +-dB",
                   r["re_close_mic_spread_db"], "<= 1", r["re_close_mic_spread_db"] <= 1.0)
            target(f"{mix} {n} level per turn",
                   f"{mix}, {n} talkers:   each turn re close-mic mix, +-dB",
                   r["turn_spread_db"], "<= 1", r["turn_spread_db"] <= 1.0)
    wall = time.perf_counter() - t_start
    print(f"\n(wall time {wall:.0f} s; load average at start {mach['loadavg_start']})")

    rec = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "mode": mode_name, "machine": mach, "gating_available": gate,
           "setup": {"fs": FS, "snr_db": args.snr, "speech_dbfs": SPEECH_DBFS, "seed": args.seed,
                     "durations": durations, "voices": [list(v) for v in VOICES],
                     "tables": {str(n): setup[n] for n in setup}},
           "results": {str(n): {m: {k: v for k, v in r.items() if k != "onsets"}
                                for m, r in results[n].items()} for n in results},
           "onsets": {f"{n} {m}": [[o["talker"], o["kind"], o["ms"], o["loss50_db"], o["start_db"],
                                    o["final_db"], o["open_before"]]
                                   for o in results[n][m]["onsets"]]
                      for n in results for m in results[n] if "onsets" in results[n][m]},
           "onset_fields": ["talker", "kind", "ms", "loss50_db", "start_db", "final_db",
                            "open_before"],
           "checks": checks, "targets": targets, "wall_s": wall}
    if not gate:
        for n in results:
            rec["results"][str(n)]["gate"] = "gating mode not available"
    print("JSON " + json.dumps(rnd(rec), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
