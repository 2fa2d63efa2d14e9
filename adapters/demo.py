"""The bundled demo: synthesized podcast material rendered through a scene.

Four "voices" (additive glottal harmonics shaped by moving vowel formants,
syllables at 4-6 Hz, phrases with pauses, taking turns and sometimes
overlapping) and a stereo music bed, so ``make run`` works on a machine
with no audio files and no sound card.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from .render import render

#: Rough formant centres (F1, F2, F3) in Hz of a few vowels.
VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [530, 1840, 2480],
                   [570, 840, 2410], [300, 870, 2240], [640, 1190, 2390]], dtype=float)


def synth_voice(seconds: float, rate: int, f0_hz: float, turns: list[tuple[float, float]],
                seed: int) -> np.ndarray:
    """A speech-like signal, active only during ``turns`` ((start_s, end_s) pairs).

    Returns
    -------
    float32 array of ``seconds * rate`` samples, peaks near -12 dBFS.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    # pitch: slow intonation plus vibrato-like jitter
    f0 = f0_hz * (1.0 + 0.08 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6))
                  + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    # syllables: one vowel per syllable, formants glide between them
    syl_rate = rng.uniform(4.0, 6.0)
    n_syl = int(seconds * syl_rate) + 2
    vowel_idx = rng.integers(0, len(VOWELS), n_syl)
    pos = t * syl_rate
    k = np.minimum(pos.astype(int), n_syl - 2)
    frac = pos - k
    formants = VOWELS[vowel_idx[k]] * (1 - frac[:, None]) + VOWELS[vowel_idx[k + 1]] * frac[:, None]
    x = np.zeros(n)
    for h in range(1, 40):
        fh = h * f0
        amp = np.zeros(n)
        for j, bw in enumerate((80.0, 100.0, 140.0)):
            amp += (1.0 / (1.0 + ((fh - formants[:, j]) / bw) ** 2)) / (j + 1)
        amp *= (fh < 0.45 * rate) / h ** 0.6
        x += amp * np.sin(h * phase)
    # syllabic envelope and phrase gating
    env = np.clip(np.sin(np.pi * (pos % 1.0)), 0, None) ** 1.5
    gate = np.zeros(n)
    for start, end in turns:
        a, b = int(start * rate), min(int(end * rate), n)
        if b > a:
            ramp = np.minimum(1.0, np.minimum(np.arange(b - a), np.arange(b - a)[::-1]) / (0.02 * rate))
            gate[a:b] = np.maximum(gate[a:b], ramp)
    x *= env * gate
    # a little breath noise
    x += 0.01 * rng.standard_normal(n) * env * gate
    peak = np.max(np.abs(x)) or 1.0
    return (0.25 * x / peak).astype(np.float32)


def synth_music(seconds: float, rate: int) -> np.ndarray:
    """A quiet stereo chord progression (2 rows), peaks near -20 dBFS."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    chords = [(220.0, 277.18, 329.63), (196.0, 246.94, 293.66), (174.61, 220.0, 261.63), (196.0, 246.94, 329.63)]
    out = np.zeros((2, n))
    bar = 2.0
    for i, chord in enumerate(chords * int(seconds / (bar * len(chords)) + 1)):
        a = int(i * bar * rate)
        if a >= n:
            break
        b = min(int((i + 1) * bar * rate), n)
        tt = t[a:b] - t[a]
        env = (1 - np.exp(-tt / 0.05)) * np.exp(-tt / 1.5)
        for j, f in enumerate(chord):
            out[j % 2, a:b] += env * np.sin(2 * np.pi * f * tt)
            out[(j + 1) % 2, a:b] += 0.5 * env * np.sin(2 * np.pi * f * 2 * tt)
    return (0.1 * out / np.max(np.abs(out))).astype(np.float32)


def demo_inputs(seconds: float, rate: int = 48000) -> np.ndarray:
    """The 6 demo inputs: 4 voices taking turns, music L, music R."""
    turns = [[], [], [], []]
    t, who = 0.5, 0
    rng = np.random.default_rng(7)
    while t < seconds:
        length = rng.uniform(1.5, 4.0)
        turns[who].append((t, t + length))
        overlap = rng.uniform(-0.6, 0.4)  # negative: the next talker starts early
        t += length + overlap
        who = (who + int(rng.integers(1, 4))) % 4
    voices = [synth_voice(seconds, rate, f0, turns[i], seed=i)
              for i, f0 in enumerate((110.0, 210.0, 135.0, 180.0))]
    # every mic also hears the room: a noise floor near -60 dBFS RMS
    room = np.random.default_rng(11).standard_normal((4, voices[0].size)) * 1e-3
    mics = np.vstack(voices) + room.astype(np.float32)
    return np.vstack([mics, synth_music(seconds, rate)])


def run_demo(out_dir: Path, scene: Path, seconds: float = 20.0) -> Path:
    """Synthesize the demo inputs, render them through ``scene``, print where."""
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = demo_inputs(seconds)
    src = out_dir / "demo_inputs.wav"
    sf.write(src, inputs.T, 48000, subtype="FLOAT")
    dst = out_dir / "podcast_demo.wav"
    tele = out_dir / "podcast_demo_telemetry.csv"
    render([src], dst, scene=scene, telemetry=tele, stems=out_dir / "stems")
    print(f"inputs:    {src}  (4 voices + stereo music bed, {seconds:g} s)")
    print(f"mix:       {dst}")
    print(f"stems:     {out_dir / 'stems'}")
    print(f"telemetry: {tele}")
    sys.stdout.flush()
    return dst
