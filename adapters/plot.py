"""``automixd render --plot``: who was opened when, at a glance.

One strip per channel (automix gain in dB, shaded where the channel was
talking) above the main output's level, all on one time axis. matplotlib
is an optional extra (``pip install 'automixd[plot]'``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .render import RenderError


def require_matplotlib() -> None:
    """Raise a clear RenderError when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise RenderError("--plot needs matplotlib, an optional extra: "
                          "pip install 'automixd[plot]' (or pip install matplotlib)") from None


def plot_automix(history: list[dict], names: list[str], path: Path) -> None:
    """Write the PNG; ``history`` holds one telemetry snapshot per 10 ms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history:
        raise RenderError("--plot: the input is shorter than one telemetry period (10 ms)")
    t = np.array([h["time_s"] for h in history])
    gains = np.array([h["automix_gain_db"] for h in history])  # (time, channel)
    talking = np.array([h["talking"] for h in history])
    out_db = np.array([h["out_db"] for h in history])
    n_ch = len(names)
    fig, axes = plt.subplots(n_ch + 1, 1, sharex=True, figsize=(11, 1.1 * n_ch + 2.2),
                             gridspec_kw={"height_ratios": [1] * n_ch + [1.6]})
    floor = -40.0
    for ch, ax in enumerate(axes[:-1]):
        g = np.maximum(gains[:, ch], floor)
        ax.fill_between(t, floor, 0.0, where=talking[:, ch] > 0.5, color="tab:green", alpha=0.25,
                        step="mid", linewidth=0, label="talking")
        ax.plot(t, g, color="tab:blue", linewidth=1.0)
        ax.set_ylim(floor, 3.0)
        ax.set_yticks([floor, -20.0, 0.0])
        ax.set_ylabel(names[ch], rotation=0, ha="right", va="center", fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].set_title("automix gain (dB), green where talking")
    ax = axes[-1]
    ax.plot(t, np.maximum(out_db, -80.0), color="black", linewidth=0.8)
    ax.set_ylabel("main\n(dBFS RMS)", rotation=0, ha="right", va="center", fontsize=9)
    ax.set_xlabel("time (s)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
