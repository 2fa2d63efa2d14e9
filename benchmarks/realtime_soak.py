"""Real-time soak (issue 4): the live engine on a real JACK server while its Python side is busy.

Run from the repository root::

    .venv/bin/python benchmarks/realtime_soak.py                 # 60 s: 32 ch x 64 frames, then 64 ch x 128
    .venv/bin/python benchmarks/realtime_soak.py --minutes 10 --channels 32 --period 64
    .venv/bin/python benchmarks/realtime_soak.py --quick         # 15 s per configuration
    .venv/bin/python benchmarks/realtime_soak.py --no-realtime   # jackd --no-realtime instead of -R
    .venv/bin/python benchmarks/realtime_soak.py --twin          # and a C client doing the daemon's work
    .venv/bin/python benchmarks/realtime_soak.py --cpu-latency-us 0  # CPUs poll instead of idling
    .venv/bin/python benchmarks/realtime_soak.py --host-reference --minutes 10  # jackd + C baseline alone

What runs
---------
A private ``jackd -d dummy`` at 48 kHz (``-R`` when it works; the output says
which), and on it, at the same time:

* **the daemon**: ``LiveEngine`` + ``JackBackend`` in *this* process (so the
  load below shares its interpreter), N input channels with the full strip
  (HPF, gate, 4-band EQ with non-zero gains, compressor) and every channel in
  automix group 1 (gain sharing), main bus limiter on;
* **a feeder**: a small C JACK client compiled here with the system gcc (N
  outputs of enveloped noise, bursts at 0.4-2.6 Hz that open and close the
  gates and move the automixer), wired into the daemon's inputs. Without gcc
  it falls back to ``jack_simple_client`` fanned out to every input;
* **the baseline**: JACK's own C example client ``jack_simple_client``
  (Debian jackd2), a sine on two outputs.
* with ``--twin``, **a C twin** of the daemon: a small C client wired from
  the feeder like the daemon, that sums its inputs and then does a fixed
  amount of filter arithmetic, calibrated at its start to take the daemon's
  median callback time on a quiet CPU, as measured just before over the last
  second of a few seconds of the soak's control traffic alone (no CPU-bound
  Python threads), so both do the same work in the loaded window.
  It meets whatever any client doing the daemon's work at the daemon's place
  in the graph would meet: where it is late ``Running`` too, the machine made
  both late, not Python; and its callback times (p50, p99, max, timed like the
  daemon's) show what the host does to that much C work, so the daemon's p99
  can be read against a compiled client's in the same minutes. It is off by
  default: it adds the daemon's load again to a 2-core machine, which the
  issue's set-up does not have.

The daemon's Python side is kept busy while the clock runs: a thread makes a
control change (``LiveEngine.set``: fader, EQ gain, compressor threshold,
pan of a rotating channel) every millisecond; a thread spins pure-Python
arithmetic; a thread sorts a 200,000-float list again and again, holding the
GIL for tens of milliseconds per ``sorted()``; a meter thread reads
``telemetry()`` at 25 Hz as the daemon does.

What is reported
----------------
xruns come from jackd's log, which names the late client and its state:
``Running`` (still computing: its own fault) or ``Triggered`` (woken but not
yet scheduled: the machine's fault; the C baseline shows these too); the
dummy driver's own timer misses are counted apart. ``xruns (graph)`` is the
daemon's JACK xrun callback count, which includes every client's and the
driver's. Callback durations are the compiled callback's own clock
(``clock_gettime`` at entry and exit; every period of the window, collected
from the engine's ring), p50/p99/max in µs and p99 as % of the period. The DSP
load is JACK's (``jack_cpu_load``: the whole graph, sampled once a second).
The baseline's callback time is not observable from outside ("-").

The dummy driver sleeps to an absolute schedule. When its own thread wakes
more than a period late (a "timer miss", logged by jackd; on a shared VM
that is the host taking the vCPU away) it re-anchors and starts the next cycle
at once, so that cycle is a few µs long and any client with work left in it
is reported late, usually ``Running``. Such reports are counted apart
("after a driver timer miss": the late-client lines that directly follow a
timer-miss line in the log). A driver wake-up that is late by less than a
period shortens the next cycle too but is not logged; the callback's own
durations (``> period``) tell whether the daemon ever needed a whole period.
``--host-reference`` runs jackd and the C baseline alone, with nothing of the
project on the machine, and counts the timer misses the host causes by itself.

Each cycle is also taken apart (``late_cycles``): the daemon's callbacks log
their start, their cycle's frame time and their thread's CPU time, and the
feeder logs the same, so every cycle splits into how late it began against the
driver's grid, the feeder's callback, the hand-off to the daemon and the
daemon's callback, and a long callback into time computing and time its thread
was not running. The cycles where the daemon ended after the next one began
are put down to the part most over its median.

Targets (issue 4, meant for 10 minutes at 64 frames): no xrun in which the
daemon was late and still ``Running`` (judged on the raw count, and again
without the cycles after a driver timer miss); the daemon's xruns at most the
baseline's + 5; callback p99 under 10 % of the period. PASS/MISS beside a
target is a report, not a test; a shorter run only indicates.
The output is a table and then one line ``JSON {...}`` with every figure.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import cpu_model, git, soak_changes, use_revision

# Bound by load_automixd() (the working tree's package, or a snapshot of a commit).
jb = DummyJackServer = JackServerError = jack_env = Scene = R = LiveEngine = None

FS = 48000
CONFIGS = ((32, 64), (64, 128))
SETTLE_S = 3.0          # after wiring, before the window opens (start-up xruns excluded)
CONTROL_HZ = 1000.0
TWIN_CAL_S = 4.0        # control traffic alone before the twin is calibrated to the daemon's median
METER_HZ = 25.0
SORT_LEN = 200_000
SORT_PAUSE_S = 0.05     # between two sorted() calls (the other threads get the GIL then)
IDLE_S = 15.0           # callback times with the Python side idle, before the loaded window
TARGET_P99_PCT = 10.0
TARGET_MARGIN = 5

DAEMON = "automixd-soak"
FEEDER = "soak-feeder"
BASELINE = "soak-baseline"

EQ_GAINS_DB = (2.0, -3.0, 2.5, 1.5)

FEEDER_C = r"""
/* realtime_soak feeder: N outputs of enveloped noise (no JACK headers needed).
   The first client of every cycle: with a TIMING file it stores, per cycle,
   when its callback started and ended (ns), the cycle's frame time and the
   thread's CPU time in the callback, so the soak can tell a cycle that began
   late from a client that was woken late or stalled. */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef struct _jack_client jack_client_t;
typedef struct _jack_port jack_port_t;
typedef uint32_t jack_nframes_t;
jack_client_t *jack_client_open(const char *name, int options, int *status, ...);
jack_port_t *jack_port_register(jack_client_t *, const char *, const char *, unsigned long, unsigned long);
int jack_set_process_callback(jack_client_t *, int (*)(jack_nframes_t, void *), void *);
int jack_activate(jack_client_t *);
int jack_deactivate(jack_client_t *);
int jack_client_close(jack_client_t *);
void *jack_port_get_buffer(jack_port_t *, jack_nframes_t);
jack_nframes_t jack_get_sample_rate(jack_client_t *);
jack_nframes_t jack_last_frame_time(const jack_client_t *);

#define MAXP 256
#define MAXT 3000000
#define TWO_PI 6.283185307179586
static jack_client_t *client;
static jack_port_t *ports[MAXP];
static int n_ports;
static uint32_t rng[MAXP];
static float lp[MAXP];
static double phase[MAXP], inc[MAXP];
static volatile int64_t *timing;  /* [0] = count, then (start, end, frame, cpu ns) per cycle */
static volatile sig_atomic_t done;

static int64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int process(jack_nframes_t n, void *arg) {
    (void)arg;
    int64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = timing ? clock_ns(CLOCK_THREAD_CPUTIME_ID) : 0;
    for (int p = 0; p < n_ports; p++) {
        float *buf = (float *)jack_port_get_buffer(ports[p], n);
        double s = sin(phase[p]);
        /* bursts (gate opens, compressor works, automix shares move), -90 dB between */
        float env = (float)(s > 0.0 ? 0.6 * s * s : 0.0) + 3e-5f;
        phase[p] += inc[p] * n;
        if (phase[p] > TWO_PI) phase[p] -= TWO_PI;
        uint32_t x = rng[p];
        float y = lp[p];
        for (jack_nframes_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            y += 0.3f * ((float)(int32_t)x * (1.0f / 2147483648.0f) - y);
            buf[i] = env * y;
        }
        rng[p] = x;
        lp[p] = y;
    }
    if (timing) {
        int64_t k = timing[0];
        if (k < MAXT) {
            timing[4 + 4 * k] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
            timing[1 + 4 * k] = t0;
            timing[2 + 4 * k] = clock_ns(CLOCK_MONOTONIC);
            timing[3 + 4 * k] = jack_last_frame_time(client);
            timing[0] = k + 1;
        }
    }
    return 0;
}

static void on_signal(int sig) { (void)sig; done = 1; }

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "soak-feeder";
    n_ports = argc > 2 ? atoi(argv[2]) : 32;
    if (n_ports < 1 || n_ports > MAXP) return 2;
    if (argc > 3) {
        int fd = open(argv[3], O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ftruncate(fd, (4 * MAXT + 1) * 8) != 0) { perror("feeder: timing file"); return 1; }
        timing = mmap(NULL, (4 * MAXT + 1) * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (timing == MAP_FAILED) { perror("feeder: mmap"); return 1; }
    }
    int status = 0;
    jack_client_t *c = jack_client_open(name, 1 /* JackNoStartServer */, &status);
    if (!c) { fprintf(stderr, "feeder: jack_client_open failed (0x%x)\n", status); return 1; }
    client = c;
    double sr = jack_get_sample_rate(c);
    for (int p = 0; p < n_ports; p++) {
        char pn[32];
        snprintf(pn, sizeof pn, "out_%d", p + 1);
        ports[p] = jack_port_register(c, pn, "32 bit float mono audio", 2 /* JackPortIsOutput */, 0);
        if (!ports[p]) { fprintf(stderr, "feeder: cannot register %s\n", pn); return 1; }
        rng[p] = 2463534242u + 7919u * (uint32_t)p;
        inc[p] = TWO_PI * (0.2 + 0.18 * (p % 7)) / sr;
        phase[p] = 0.9 * p;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    jack_set_process_callback(c, process, NULL);
    if (jack_activate(c)) { fprintf(stderr, "feeder: cannot activate\n"); return 1; }
    printf("ready\n");
    fflush(stdout);
    while (!done) usleep(50000);
    jack_deactivate(c);
    jack_client_close(c);
    return 0;
}
"""


TWIN = "soak-twin"

TWIN_C = r"""
/* realtime_soak twin: the daemon's work and place in the graph, in C. N inputs
   (wired from the feeder like the daemon's), 2 outputs; every cycle it sums
   its inputs, then runs a fixed number of sweeps of a state-variable filter
   over 64 float64 channel states (vectorisable arithmetic with state in
   memory, like the engine's passes). The number is calibrated at start-up so
   the work takes WORK_US on a quiet CPU; what it takes under load is then
   the host's doing. Each cycle's duration (ns, from the callback's start) is
   stored in the shared file DURATIONS: a count, then the durations. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef struct _jack_client jack_client_t;
typedef struct _jack_port jack_port_t;
typedef uint32_t jack_nframes_t;
jack_client_t *jack_client_open(const char *name, int options, int *status, ...);
jack_port_t *jack_port_register(jack_client_t *, const char *, const char *, unsigned long, unsigned long);
int jack_set_process_callback(jack_client_t *, int (*)(jack_nframes_t, void *), void *);
int jack_activate(jack_client_t *);
int jack_deactivate(jack_client_t *);
int jack_client_close(jack_client_t *);
void *jack_port_get_buffer(jack_port_t *, jack_nframes_t);

#define MAXP 256
#define NCH 64
#define MAXD 4000000
static jack_port_t *ins[MAXP], *outs[2];
static int n_in;
static long sweeps;
static volatile int64_t *durations;  /* [0] = count, then one per cycle */
static double a1[NCH], a2[NCH], a3[NCH], ic1[NCH], ic2[NCH];
static volatile sig_atomic_t done;

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void work(long n, double x) {
    for (long s = 0; s < n; s++)
        for (int c = 0; c < NCH; c++) {
            double v3 = x - ic2[c], v1 = a1[c] * ic1[c] + a2[c] * v3;
            double v2 = ic2[c] + a2[c] * ic1[c] + a3[c] * v3;
            ic1[c] = 2.0 * v1 - ic1[c];
            ic2[c] = 2.0 * v2 - ic2[c];
        }
}

static int process(jack_nframes_t n, void *arg) {
    (void)arg;
    long t0 = now_ns();
    float *l = (float *)jack_port_get_buffer(outs[0], n);
    float *r = (float *)jack_port_get_buffer(outs[1], n);
    for (jack_nframes_t i = 0; i < n; i++) l[i] = r[i] = 0.0f;
    for (int p = 0; p < n_in; p++) {
        const float *x = (const float *)jack_port_get_buffer(ins[p], n);
        for (jack_nframes_t i = 0; i < n; i++) { l[i] += 0.01f * x[i]; r[i] += 0.01f * x[i]; }
    }
    work(sweeps, 1e-3 * l[0]);
    int64_t k = durations[0];
    if (k < MAXD) { durations[1 + k] = now_ns() - t0; durations[0] = k + 1; }
    return 0;
}

static void on_signal(int sig) { (void)sig; done = 1; }

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "soak-twin";
    n_in = argc > 2 ? atoi(argv[2]) : 32;
    double work_us = argc > 3 ? atof(argv[3]) : 50.0;
    if (n_in < 1 || n_in > MAXP || argc < 5) return 2;
    int fd = open(argv[4], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (MAXD + 1) * 8) != 0) { perror("twin: durations file"); return 1; }
    durations = mmap(NULL, (MAXD + 1) * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (durations == MAP_FAILED) { perror("twin: mmap"); return 1; }
    for (int c = 0; c < NCH; c++) {  /* stable sections, a different one per channel */
        double g = 0.01 + 0.002 * c, k = 1.0 / (0.7 + 0.01 * c);
        a1[c] = 1.0 / (1.0 + g * (g + k)); a2[c] = g * a1[c]; a3[c] = g * a2[c];
    }
    /* calibration: the quickest of many timed runs of 2000 sweeps */
    double best = 1e18;
    for (int t = 0; t < 300; t++) {
        long t0 = now_ns();
        work(2000, 1e-3);
        double dt = (double)(now_ns() - t0);
        if (dt < best) best = dt;
    }
    sweeps = (long)(work_us * 1000.0 / (best / 2000.0) + 0.5);
    printf("%ld sweeps\n", sweeps);
    fflush(stdout);
    int status = 0;
    jack_client_t *c = jack_client_open(name, 1 /* JackNoStartServer */, &status);
    if (!c) { fprintf(stderr, "twin: jack_client_open failed (0x%x)\n", status); return 1; }
    for (int p = 0; p < n_in; p++) {
        char pn[32];
        snprintf(pn, sizeof pn, "in_%d", p + 1);
        ins[p] = jack_port_register(c, pn, "32 bit float mono audio", 1 /* JackPortIsInput */, 0);
        if (!ins[p]) { fprintf(stderr, "twin: cannot register %s\n", pn); return 1; }
    }
    outs[0] = jack_port_register(c, "out_L", "32 bit float mono audio", 2, 0);
    outs[1] = jack_port_register(c, "out_R", "32 bit float mono audio", 2, 0);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    jack_set_process_callback(c, process, NULL);
    if (jack_activate(c)) { fprintf(stderr, "twin: cannot activate\n"); return 1; }
    while (!done) usleep(50000);
    jack_deactivate(c);
    jack_client_close(c);
    return 0;
}
"""


def load_automixd(rev: str | None) -> str:
    """Import the engine and adapters: the installed (editable) package, or ``rev``'s commit.

    With ``rev`` the package comes from ``git archive`` into a temporary
    directory placed first on ``sys.path`` (other people's uncommitted edits
    to the working tree then do not leak into the figures). Returns what was loaded.
    """
    global jb, DummyJackServer, JackServerError, jack_env, Scene, R, LiveEngine
    if rev:
        commit = use_revision(rev, "automixd-soak-src-")
    from automixd.adapters import jack_backend as _jb  # noqa: PLC0415
    from automixd.adapters.jackserver import DummyJackServer as _srv  # noqa: PLC0415
    from automixd.adapters.jackserver import JackServerError as _err  # noqa: PLC0415
    from automixd.adapters.jackserver import jack_env as _env  # noqa: PLC0415
    from automixd.engine import Scene as _scene  # noqa: PLC0415
    from automixd.engine import realtime as _rt  # noqa: PLC0415
    from automixd.engine.live import LiveEngine as _live  # noqa: PLC0415

    jb, DummyJackServer, JackServerError, jack_env = _jb, _srv, _err, _env
    Scene, R, LiveEngine = _scene, _rt, _live
    src = Path(sys.modules["automixd.engine"].__file__).parent.parent
    if rev:
        return f"commit {commit} (git archive into {src})"
    dirty = git("status", "--porcelain", "--", "engine", "adapters").splitlines()
    dirty = " ".join(x.split()[-1] for x in dirty)
    return (f"working tree at {git('rev-parse', '--short', 'HEAD')}"
            + (f", uncommitted changes: {dirty}" if dirty else ""))


# -- scene -----------------------------------------------------------------------
def soak_scene(n_ch: int, period: int):
    strip = {
        "hpf": {"on": True, "freq_hz": 80.0},
        "gate": {"on": True, "threshold_db": -60.0},
        "eq": {"on": True, **{str(b): {"gain_db": g} for b, g in enumerate(EQ_GAINS_DB, 1)}},
        "comp": {"on": True, "threshold_db": -30.0, "ratio": 3.0},
        "automix": {"group": 1},
        "fader_db": -6.0,
    }
    ch = {str(i): {**strip, "name": f"Mic {i}", "pan": round(-0.8 + 1.6 * (i - 1) / max(n_ch - 1, 1), 3)}
          for i in range(1, n_ch + 1)}
    return Scene.from_dict({"sample_rate": FS, "block_size": period, "channels": n_ch, "ch": ch,
                            "automix": {"1": {"on": True}}, "bus": {"main": {"limiter": {"on": True}}}},
                           source=f"soak {n_ch}x{period}")


# -- the feeder and the baseline ----------------------------------------------------------
def build_c(workdir: Path, name: str, source: str) -> Path | None:
    """Compile one of the C clients; None when there is no compiler or libjack to link."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None
    src = workdir / f"{name}.c"
    exe = workdir / name
    src.write_text(source)
    res = subprocess.run([cc, "-O2", "-o", str(exe), str(src), "-l:libjack.so.0", "-lm"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        print(f"(cannot build the C {name}: {res.stderr.strip()[:200]})")
        return None
    return exe


def rt_threads(pid: int) -> list[tuple[str, int]]:
    """(policy, rtprio) of the SCHED_FIFO/RR threads of ``pid``."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        rtprio, policy = int(fields[37]), int(fields[38])  # fields 40 and 41 of stat(5)
        if policy in (1, 2):
            out.append(("FIFO" if policy == 1 else "RR", rtprio))
    return out


def cpu_steal() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs from /proc/stat (steal: the host ran something else)."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    return vals[7], sum(vals[:8])


def steal_pct(at: tuple[int, int], end: tuple[int, int]) -> float:
    """CPU steal between two ``cpu_steal()`` readings, in % of all CPU time."""
    return round(100 * (end[0] - at[0]) / max(end[1] - at[1], 1), 2)


def thread_counters(pid: int, tid: int) -> dict:
    """Page faults and involuntary context switches of one thread (since it started)."""
    base = Path(f"/proc/{pid}/task/{tid}")
    try:
        fields = (base / "stat").read_text().rsplit(")", 1)[1].split()
        status = (base / "status").read_text()
    except OSError:
        return {}
    nonvol = int(re.search(r"nonvoluntary_ctxt_switches:\s+(\d+)", status).group(1))
    return {"minflt": int(fields[7]), "majflt": int(fields[9]), "nonvol_ctxsw": nonvol}


def rt_tids(pid: int, realtime: bool = True) -> list[int]:
    """The threads of ``pid`` whose policy is (``realtime``) or is not SCHED_FIFO/RR."""
    tids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if (int(fields[38]) in (1, 2)) == realtime:
            tids.append(int(task.name))
    return tids


def pin_threads(pid: int, cpus, realtime: bool = True) -> int:
    """Set the CPU affinity of the threads of ``pid`` that are (``realtime``) or are
    not SCHED_FIFO/RR; how many took it (a thread may end meanwhile)."""
    pinned = 0
    for tid in rt_tids(pid, realtime):
        try:
            os.sched_setaffinity(tid, cpus)
            pinned += 1
        except OSError:
            pass
    return pinned


def pin_rt_threads(pids: dict[str, int], cpu: int) -> dict[str, int]:
    """Pin every SCHED_FIFO/RR thread of each process to ``cpu``; how many, per process.

    With the whole graph on one CPU a client is woken where the client before
    it just finished, rather than on the other vCPU, which may be halted (and
    which the host then has to run again first).
    """
    return {name: pin_threads(pid, {cpu}) for name, pid in pids.items()}


# -- load on the daemon's interpreter ------------------------------------------------------
class Load:
    """The busy Python side: control changes, a CPU-bound thread, a GIL holder, meters."""

    def __init__(self, live: LiveEngine, n_ch: int, control_only: bool = False) -> None:
        self.live = live
        self.n_ch = n_ch
        self.stop = threading.Event()
        self.sets = 0
        self.late_sets = 0       # control changes made > 5 ms after their slot
        self.max_late_ms = 0.0
        self.spins = 0
        self.sort_ms: list[float] = []
        self.meter_reads = 0
        parts = (self._control,) if control_only else (self._control, self._spin, self._sort, self._meters)
        self.threads = [threading.Thread(target=f, name=f.__name__, daemon=True) for f in parts]

    def start(self) -> None:
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()

    def finish(self) -> dict:
        self.stop.set()
        for t in self.threads:
            t.join(5)
        wall = time.monotonic() - self.t0
        s = np.array(self.sort_ms or [0.0])
        return {"control_sets": self.sets, "control_rate_hz": round(self.sets / wall, 1),
                "control_late_5ms": self.late_sets, "control_late_ms_max": round(self.max_late_ms, 1),
                "spin_iterations": self.spins,
                "gil_holds": len(self.sort_ms),
                "gil_hold_ms_median": round(float(np.median(s)), 1),
                "gil_hold_ms_max": round(float(s.max()), 1),
                "gil_held_fraction": round(float(s.sum()) / 1e3 / wall, 3),
                "meter_reads": self.meter_reads}

    def _control(self) -> None:
        changes = soak_changes(self.n_ch)
        step = 1.0 / CONTROL_HZ
        nxt = time.monotonic()
        while not self.stop.is_set():
            # one change per slot; after a GIL hold the missed slots are made at once,
            # so the rate stays 1 kHz on average (as a burst of OSC messages would)
            nxt += step
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.005:
                self.late_sets += 1
                self.max_late_ms = max(self.max_late_ms, -delay * 1e3)
            self.live.set(*next(changes))
            self.sets += 1

    def _spin(self) -> None:
        while not self.stop.is_set():
            acc = 0
            for k in range(20_000):
                acc += k * k % 7
            self.spins += 1

    def _sort(self) -> None:
        rnd = random.Random(7)
        data = [rnd.random() for _ in range(SORT_LEN)]
        while not self.stop.is_set():
            t0 = time.perf_counter()
            sorted(data)  # one C call: holds the GIL throughout
            self.sort_ms.append((time.perf_counter() - t0) * 1e3)
            self.stop.wait(SORT_PAUSE_S)

    def _meters(self) -> None:
        while not self.stop.wait(1.0 / METER_HZ):
            self.live.telemetry()
            self.meter_reads += 1


class Collector:
    """Drains the callback-duration ring and samples JACK's DSP load, off the audio thread."""

    def __init__(self, live: LiveEngine, backend) -> None:
        self.live = live
        self.backend = backend
        self.stop = threading.Event()
        self.chunks: list[np.ndarray] = []   # (4, n): duration ns, start ns, frame time, CPU ns
        self.lost = 0
        self.loads: list[float] = []
        self.pos = int(live.root[R.R_TIMES_IDX])
        self.thread = threading.Thread(target=self._run, name="collector", daemon=True)

    def start(self) -> None:
        self.pos = int(self.live.root[R.R_TIMES_IDX])
        self.thread.start()

    def _drain(self) -> None:
        end = int(self.live.root[R.R_TIMES_IDX])
        if end - self.pos > R.TIMES_LEN:
            self.lost += end - self.pos - R.TIMES_LEN
            self.pos = end - R.TIMES_LEN
        if end > self.pos:
            k = np.arange(self.pos, end) % R.TIMES_LEN
            self.chunks.append(np.stack([self.live.times[k], *self.live.starts[k].T]))
            self.pos = end

    def _run(self) -> None:
        last_load = time.monotonic()
        while not self.stop.wait(0.1):
            self._drain()
            if time.monotonic() - last_load >= 1.0:
                last_load = time.monotonic()
                self.loads.append(self.backend.cpu_load())

    def finish(self) -> tuple[np.ndarray, list[float]]:
        """Callbacks of the window, ``(4, n)``: duration, start, frame time, CPU ns; JACK's DSP loads."""
        self.stop.set()
        self.thread.join(5)
        self._drain()
        return (np.concatenate(self.chunks, axis=1) if self.chunks else np.zeros((4, 0), np.int64)), self.loads


# -- jackd's log ----------------------------------------------------------------------
LATE = re.compile(r"JackEngine::XRun: client = (.+?) was not finished, state = (\w+)")
LATE_FINISH = re.compile(r"JackEngine::XRun: client (.+?) finished after current callback")
DRIVER = re.compile(r"JackTimedDriver::Process XRun = (\d+) usec")


def parse_log(text: str) -> dict:
    """Late clients by name and state, and the dummy driver's timer misses.

    After a timer miss the dummy driver starts the next cycle at once (it
    re-anchors its clock and sleeps 0 µs), so in that cycle every client that
    has any work left is reported late. A group of late-client lines that
    directly follows a timer-miss line is counted as ``after_miss`` too.
    """
    late: dict[str, dict[str, int]] = {}
    driver: list[int] = []
    prev = ""            # kind of the previous line: "driver", "late" or ""
    group_after_miss = False
    for line in text.splitlines():
        m = DRIVER.search(line)
        if m:
            driver.append(int(m.group(1)))
            prev = "driver"
            continue
        m = LATE.search(line)
        if m:
            name, state = m.group(1), m.group(2)
        else:
            m = LATE_FINISH.search(line)
            if m:
                name, state = m.group(1), "FinishedLate"
        if not m:
            # "Process error" closes a cycle's group of late lines; the next group is another cycle
            prev = "end" if "Process error" in line else ""
            continue
        if prev != "late":
            group_after_miss = prev == "driver"
        prev = "late"
        d = late.setdefault(name, {})
        d[state] = d.get(state, 0) + 1
        if group_after_miss:
            d[state + "_after_miss"] = d.get(state + "_after_miss", 0) + 1
    return {"late": late, "driver_xruns": len(driver),
            "driver_late_us_max": max(driver) if driver else 0,
            "process_errors": text.count("ProcessGraphAsyncMaster: Process error")}


def xrun_row(late: dict[str, dict[str, int]], name: str) -> dict:
    d = late.get(name, {})
    states = {k: v for k, v in d.items() if not k.endswith("_after_miss")}
    return {"xruns": sum(states.values()), "running": d.get("Running", 0),
            "triggered": d.get("Triggered", 0),
            "other": sum(v for k, v in states.items() if k not in ("Running", "Triggered")),
            "after_miss": sum(v for k, v in d.items() if k.endswith("_after_miss")),
            "running_after_miss": d.get("Running_after_miss", 0),
            "running_not_after_miss": d.get("Running", 0) - d.get("Running_after_miss", 0)}


def callback_stats(times_ns: np.ndarray, period: int, lost: int) -> dict:
    us = times_ns / 1e3 if times_ns.size else np.zeros(1)
    period_us = period / FS * 1e6
    p99 = float(np.percentile(us, 99))
    return {"p50_us": round(float(np.percentile(us, 50)), 1), "p99_us": round(p99, 1),
            "p999_us": round(float(np.percentile(us, 99.9)), 1), "max_us": round(float(us.max()), 1),
            "p99_pct": round(100 * p99 / period_us, 2),
            "over_50pct": int((us > 0.5 * period_us).sum()), "over_period": int((us > period_us).sum()),
            "n": int(times_ns.size), "lost": lost}


def feeder_timing(path: Path) -> np.ndarray:
    """The feeder's cycles so far, ``(n, 4)``: callback start and end (ns), frame time, CPU ns."""
    d = np.fromfile(path, dtype=np.int64)
    return d[1:1 + 4 * int(d[0])].reshape(-1, 4)


def _unwrap_frames(f: np.ndarray) -> np.ndarray:
    # jack_nframes_t wraps at 2**32 (a day at 48 kHz)
    return f[0] + np.concatenate([[0], np.cumsum(np.diff(f) % 2**32)]) if f.size else f


def _floor(o: np.ndarray, w: int) -> np.ndarray:
    """Where the cycles of ``o`` would start on time: the larger of the minimum over the
    ``w`` cycles before and the ``w`` cycles after (a late cycle is one above its
    neighbours; the dummy driver re-anchors its grid later after a timer miss, and
    the larger minimum follows that step at once)."""
    pad = np.full(w - 1, np.inf)
    win = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, o, pad]), w)
    return np.maximum(win[:o.size].min(axis=1), win[w - 1:w - 1 + o.size].min(axis=1))


def _find_frames(frames: np.ndarray, want: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the sorted ``frames`` holding each of ``want``, and whether each was there."""
    idx = np.minimum(np.searchsorted(frames, want), frames.size - 1)
    return idx, frames[idx] == want


def late_cycles(cb: np.ndarray, feeder: np.ndarray | None, period: int) -> dict | None:
    """Why the daemon finished after the next cycle began, cycle by cycle.

    Each cycle is split into four parts: how late it began (the feeder, the
    first client, started later than on the driver's grid: the driver's timer
    or the feeder's wake-up), the feeder's callback, the hand-off (from the
    feeder's end to the daemon's start: the daemon's thread being woken and
    scheduled) and the daemon's callback. A cycle is *late* when the daemon
    ended after the next cycle began (after the feeder started in it, or where
    the driver's grid puts it when the feeder has no record of it): jackd
    then finds the daemon Running. Each late cycle is put down to the part
    that exceeded its median the most. Where a callback's thread CPU time was
    measured, the part of a callback its thread was not running (preempted,
    or its virtual CPU not scheduled) is reported beside it.
    """
    if feeder is None or cb.shape[1] == 0 or feeder.shape[0] == 0:
        return None
    d_fr = _unwrap_frames(cb[2])
    # the feeder's file spans the run, the daemon's window a part of it: matched by frame
    # time (the server's clock starts at 0, so within a soak neither wraps before the other)
    f_fr = _unwrap_frames(feeder[:, 2])
    idx, ok = _find_frames(f_fr, d_fr)
    if ok.sum() < 0.9 * d_fr.size:
        return None
    cb, d_fr, fd = cb[:, ok].astype(np.float64), d_fr[ok], feeder[idx[ok]].astype(np.float64)
    p_ns = period / FS * 1e9
    o = fd[:, 0] - (d_fr - d_fr[0]) / period * p_ns
    parts = {"began_late": o - _floor(o, 100), "feeder": fd[:, 1] - fd[:, 0],
             "handoff": cb[1] - fd[:, 1], "callback": cb[0]}
    # due: the feeder's start in the next cycle (a little after that cycle began), or where
    # the grid puts that cycle when the feeder has no record of it
    nxt, has = _find_frames(f_fr, d_fr + period)
    due = np.where(has, feeder[nxt, 0] - fd[:, 0], p_ns - parts["began_late"])
    over = cb[1] + cb[0] - fd[:, 0] - due
    late = over > 0
    excess = np.stack([v - (np.median(v) if k != "began_late" else 0.0) for k, v in parts.items()])
    cause = np.argmax(excess[:, late], axis=0)
    not_running = {"feeder": np.where(fd[:, 3] > 0, parts["feeder"] - fd[:, 3], np.nan),
                   "callback": np.where(cb[3] > 0, cb[0] - cb[3], np.nan)}

    def q(x: np.ndarray) -> dict:
        x = x[np.isfinite(x)]
        return {k: round(float(np.percentile(x, p)) / 1e3, 1) if x.size else None
                for k, p in (("p50", 50), ("p99", 99), ("p999", 99.9), ("max", 100))}

    steps = np.diff(d_fr)
    worst = np.argsort(over)[::-1][:min(8, int(late.sum()))]
    us = lambda x: None if not np.isfinite(x) else round(float(x) / 1e3, 1)  # noqa: E731
    return {
        "cycles": int(d_fr.size), "skipped_cycles": int((steps // period - 1)[steps > period].sum()),
        "late": int(late.sum()),
        "late_by": {k: int((cause == i).sum()) for i, k in enumerate(parts)},
        "parts_us": {k: q(v) for k, v in parts.items()},
        "not_running_us": {k: q(v) for k, v in not_running.items()},
        "callback_cpu_us": q(np.where(cb[3] > 0, cb[3], np.nan)),
        "worst_late_us": [{**{k: us(v[i]) for k, v in parts.items()},
                           "feeder_not_running": us(not_running["feeder"][i]),
                           "callback_not_running": us(not_running["callback"][i]), "over": us(over[i])}
                          for i in worst],
    }


def twin_count(path: Path) -> int:
    """Cycles the C twin has timed so far (the first word of its durations file)."""
    return int(np.fromfile(path, dtype=np.int64, count=1)[0])


def twin_durations(path: Path, since: int) -> np.ndarray:
    """The C twin's callback durations (ns) from cycle ``since`` on."""
    d = np.fromfile(path, dtype=np.int64)
    return d[1 + since:1 + int(d[0])].astype(np.float64)


# -- one configuration ---------------------------------------------------------------
def run_config(n_ch: int, period: int, seconds: float, idle_s: float, realtime: bool, workdir: Path,
               feeder_exe: Path | None, twin_exe: Path | None = None, log=print,
               audio_cpu: int | None = None, python_cpu: int | None = None) -> dict:
    tag = f"{n_ch}x{period}"
    server_name = f"amx-soak-{os.getpid()}-{tag}"
    jlog = workdir / f"jackd-{tag}.log"
    env = jack_env(server_name)
    os.environ.update(JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
    server = DummyJackServer(server_name, rate=FS, period=period, ports=2, log=jlog, realtime=realtime)
    try:
        server.start()
    except JackServerError as exc:
        if not realtime:
            raise
        log(f"  jackd -R failed ({exc}); running --no-realtime")
        realtime = False
        server = DummyJackServer(server_name, rate=FS, period=period, ports=2, log=jlog, realtime=False)
        server.start()
    procs: list[subprocess.Popen] = []
    backend = None
    feeder_file = workdir / f"feeder-{tag}.timing"
    try:
        live = LiveEngine(soak_scene(n_ch, period))
        backend = jb.JackBackend(live, DAEMON, server_name)
        backend.start()
        c = backend.client
        # baseline: JACK's example client (argv: client name); it connects itself to system:playback
        procs.append(subprocess.Popen(["jack_simple_client", BASELINE], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        if feeder_exe is not None:
            feeder_kind = "C (compiled here)"
            procs.append(subprocess.Popen([str(feeder_exe), FEEDER, str(n_ch), str(feeder_file)], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
            feeder_outs = [f"{FEEDER}:out_{i + 1}" for i in range(n_ch)]
        else:
            feeder_kind = "jack_simple_client (2 outputs fanned out)"
            procs.append(subprocess.Popen(["jack_simple_client", FEEDER], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))
            feeder_outs = [f"{FEEDER}:output{1 + i % 2}" for i in range(n_ch)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            have = {p.name for p in c.get_ports(is_audio=True, is_output=True)}
            if set(feeder_outs) <= have and f"{BASELINE}:output1" in have:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("feeder or baseline did not register its ports")
        ins = [backend.inports[s] for s in sorted(backend.inports)]
        for src, dst in zip(feeder_outs, ins):
            c.connect(src, dst)
        for i, port in enumerate(backend.outports.values()):
            c.connect(port, f"system:playback_{1 + i % 2}")
        time.sleep(SETTLE_S)
        twin_us, twin_file = None, workdir / f"twin-{tag}.durations"
        if twin_exe is not None:
            # the C twin works as long as the daemon's median callback under the soak's
            # control traffic alone (no CPU-bound Python beside it): the DSP the daemon
            # really does in the loaded window, on a CPU nobody else in the process wants
            warm = Load(live, n_ch, control_only=True)
            warm.start()
            time.sleep(TWIN_CAL_S)
            twin_us = round(float(np.median(live.callback_log()[0][-int(FS / period):])) / 1e3, 1)
            warm.finish()
            procs.append(subprocess.Popen([str(twin_exe), TWIN, str(n_ch), str(twin_us), str(twin_file)],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
            twin_ins = [f"{TWIN}:in_{i + 1}" for i in range(n_ch)]
            deadline = time.monotonic() + 10
            while not set(twin_ins) <= {p.name for p in c.get_ports(is_audio=True, is_input=True)}:
                if time.monotonic() > deadline:
                    raise RuntimeError("the C twin did not register its ports")
                time.sleep(0.05)
            for src, dst in zip(feeder_outs, twin_ins):
                c.connect(src, dst)
            time.sleep(SETTLE_S)
        live.time_cpu(True)  # each callback's thread CPU time too: was a long one running?
        rt = {"daemon": rt_threads(os.getpid()), "baseline": rt_threads(procs[0].pid),
              "feeder": rt_threads(procs[1].pid)}
        if twin_us is not None:
            rt["twin"] = rt_threads(procs[2].pid)
        pinned = None
        if audio_cpu is not None:
            pids = {"jackd": server.proc.pid, "daemon": os.getpid(), "baseline": procs[0].pid,
                    "feeder": procs[1].pid}
            if twin_us is not None:
                pids["twin"] = procs[2].pid
            pinned = pin_rt_threads(pids, audio_cpu)
            log(f"  real-time threads pinned to CPU {audio_cpu}: {pinned}")
        if python_cpu is not None:
            # the main thread is among them, so the load threads started later inherit it
            pin_threads(os.getpid(), {python_cpu}, realtime=False)
            log(f"  the daemon's other threads pinned to CPU {python_cpu}")
        gc.collect()
        gc.freeze()  # as the daemon does after start-up

        def window(length: float, busy: bool) -> dict:
            log_at, xruns_at, cycles_at = jlog.stat().st_size, backend.xruns, live.cycles
            load_avg = os.getloadavg()
            steal_at = cpu_steal()
            audio_tids = rt_tids(os.getpid())
            counters_at = {t: thread_counters(os.getpid(), t) for t in audio_tids}
            twin_at = twin_count(twin_file) if twin_us is not None else 0
            collector = Collector(live, backend)
            load = Load(live, n_ch) if busy else None
            collector.start()
            if load:
                load.start()
            t0 = time.monotonic()
            while (left := length - (time.monotonic() - t0)) > 0:
                time.sleep(min(1.0, left))
                if backend.lost.is_set() or any(p.poll() is not None for p in procs):
                    raise RuntimeError("a client or the server went away during the run")
            wall = time.monotonic() - t0
            steal_end = cpu_steal()
            counters = {}
            for t in audio_tids:
                now = thread_counters(os.getpid(), t)
                for k, v in now.items():
                    counters[k] = counters.get(k, 0) + v - counters_at[t].get(k, 0)
            py = load.finish() if load else None
            cb, loads = collector.finish()
            with open(jlog, "rb") as f:
                f.seek(log_at)
                parsed = parse_log(f.read().decode(errors="replace"))
            known = {DAEMON, FEEDER, BASELINE, TWIN}
            return {
                "seconds": round(wall, 1), "cycles": live.cycles - cycles_at,
                "expected_cycles": int(wall * FS / period),
                "daemon": {**xrun_row(parsed["late"], DAEMON),
                           "callback": callback_stats(cb[0], period, collector.lost),
                           "late_cycles": late_cycles(cb, feeder_timing(feeder_file)
                                                      if feeder_file.exists() else None, period)},
                "baseline": xrun_row(parsed["late"], BASELINE),
                "feeder": xrun_row(parsed["late"], FEEDER),
                "twin": {**xrun_row(parsed["late"], TWIN),
                         "callback": callback_stats(twin_durations(twin_file, twin_at), period, 0)}
                if twin_us is not None else None,
                "other_late": {k: v for k, v in parsed["late"].items() if k not in known},
                "driver_xruns": parsed["driver_xruns"], "driver_late_us_max": parsed["driver_late_us_max"],
                "graph_xruns": backend.xruns - xruns_at,
                "dsp_load_pct": {"mean": round(float(np.mean(loads)), 1) if loads else None,
                                 "max": round(float(np.max(loads)), 1) if loads else None},
                "python_load": py, "loadavg_at_start": [round(x, 2) for x in load_avg],
                "steal_pct": steal_pct(steal_at, steal_end),
                "audio_thread": counters,
            }

        idle = window(idle_s, busy=False) if idle_s > 0 else None
        loaded = window(seconds, busy=True)
    finally:
        if python_cpu is not None:
            pin_threads(os.getpid(), range(os.cpu_count() or 1), realtime=False)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if backend is not None:
            backend.stop()
        server.stop()
        gc.unfreeze()
    return {"channels": n_ch, "period": period, "realtime": realtime,
            "rt_threads": {k: sorted(set(v)) for k, v in rt.items()}, "feeder_kind": feeder_kind, "twin_work_us": twin_us,
            "audio_cpu": audio_cpu, "pinned_rt_threads": pinned, "python_cpu": python_cpu,
            **loaded, "idle": idle, "jackd_log": str(jlog)}


def host_reference(period: int, seconds: float, realtime: bool, workdir: Path) -> dict:
    """jackd and ``jack_simple_client`` alone for ``seconds``: the host's own timer misses.

    Nothing of the project runs (no daemon, no feeder, no Python load), so the
    dummy driver's timer misses and the baseline's late reports in this window
    are what the machine does to a SCHED_FIFO thread sleeping to a schedule:
    the rate every soak window inherits, each miss costing any client with
    real work a late report or two (see ``parse_log``).
    """
    tag = f"host-{period}"
    name = f"amx-soak-{os.getpid()}-{tag}"
    jlog = workdir / f"jackd-{tag}.log"
    server = DummyJackServer(name, rate=FS, period=period, ports=2, log=jlog, realtime=realtime)
    server.start()
    proc = None
    try:
        proc = subprocess.Popen(["jack_simple_client", BASELINE], env=jack_env(name), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(SETTLE_S)
        log_at, steal_at, t0 = jlog.stat().st_size, cpu_steal(), time.monotonic()
        while (left := seconds - (time.monotonic() - t0)) > 0:
            time.sleep(min(1.0, left))
            if proc.poll() is not None:
                raise RuntimeError("jack_simple_client went away during the run")
        wall, steal_end = time.monotonic() - t0, cpu_steal()
        with open(jlog, "rb") as f:
            f.seek(log_at)
            parsed = parse_log(f.read().decode(errors="replace"))
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        server.stop()
    return {"period": period, "seconds": round(wall, 1), "realtime": realtime,
            "driver_xruns": parsed["driver_xruns"], "driver_late_us_max": parsed["driver_late_us_max"],
            "baseline": xrun_row(parsed["late"], BASELINE),
            "steal_pct": steal_pct(steal_at, steal_end),
            "jackd_log": str(jlog)}


# -- report ---------------------------------------------------------------------------
def targets(r: dict) -> dict:
    d, b = r["daemon"], r["baseline"]
    p99 = d["callback"]["p99_pct"]
    return {
        "no Running xrun of the daemon (log)": {
            "value": d["running"], "target": "0", "result": "PASS" if d["running"] == 0 else "MISS"},
        "  same, not after a driver timer miss": {
            "value": d["running_not_after_miss"], "target": "0", "result": "PASS" if d["running_not_after_miss"] == 0 else "MISS"},
        "daemon xruns <= baseline + 5": {
            "value": f"{d['xruns']} vs {b['xruns']}", "target": f"<= {b['xruns'] + TARGET_MARGIN}",
            "result": "PASS" if d["xruns"] <= b["xruns"] + TARGET_MARGIN else "MISS"},
        "callback p99 < 10 % of the period": {
            "value": f"{p99} %", "target": f"< {TARGET_P99_PCT:g} %",
            "result": "PASS" if p99 < TARGET_P99_PCT else "MISS"},
    }


def _dsp(w: dict) -> str:
    d = w["dsp_load_pct"]
    return f"{d['mean']:.1f} / {d['max']:.1f}" if d["mean"] is not None else "-"


def print_table(results: list[dict]) -> None:
    head = (f"{'config':<16} {'client':<30}| {'xruns':>5} {'Run':>4} {'(miss)':>6} {'Trig':>5} | "
            f"{'cb p50':>6} {'p99':>6} {'max':>7} us | {'p99 %':>6} | {'DSP % mean/max':>14}")
    print(head)
    print("-" * len(head))

    def xr(x: dict) -> str:
        return f"{x['xruns']:5d} {x['running']:4d} {'(' + str(x['running_after_miss']) + ')':>6} {x['triggered']:5d}"

    for r in results:
        cfg = f"{r['channels']} ch x {r['period']}"
        d = r["daemon"]
        cb = d["callback"]
        print(f"{cfg:<16} {'daemon, Python busy':<30}| {xr(d)} | {cb['p50_us']:6.1f} {cb['p99_us']:6.1f} "
              f"{cb['max_us']:7.1f}    | {cb['p99_pct']:6.2f} | {_dsp(r):>14}")
        if r["idle"]:
            i = r["idle"]
            ci = i["daemon"]["callback"]
            label = f"daemon, Python idle ({i['seconds']:.0f} s)"
            print(f"{'':<16} {label:<30}| {xr(i['daemon'])} | {ci['p50_us']:6.1f} {ci['p99_us']:6.1f} "
                  f"{ci['max_us']:7.1f}    | {ci['p99_pct']:6.2f} | {_dsp(i):>14}")
        print(f"{'':<16} {'baseline jack_simple_client':<30}| {xr(r['baseline'])} | "
              f"{'-':>6} {'-':>6} {'-':>7}    | {'-':>6} | {'(same graph)':>14}")
        print(f"{'':<16} {'feeder, ' + r['feeder_kind'].split()[0]:<30}| {xr(r['feeder'])} |")
        if r.get("twin"):
            label = f"C twin, {r['twin_work_us']:g} us work"
            ct = r["twin"]["callback"]
            print(f"{'':<16} {label:<30}| {xr(r['twin'])} | {ct['p50_us']:6.1f} {ct['p99_us']:6.1f} "
                  f"{ct['max_us']:7.1f}    | {ct['p99_pct']:6.2f} |")
        print(f"{'':<16} {'dummy driver timer misses':<30}| {r['driver_xruns']:5d}  (cycle work up to "
              f"{r['driver_late_us_max']} us when missed)")
        print(f"{'':<16} {'graph total (xrun callback)':<30}| {r['graph_xruns']:5d}  cycles {r['cycles']} of "
              f"{r['expected_cycles']} in {r['seconds']} s")
        if r["other_late"]:
            print(f"{'':<16} other late clients: {r['other_late']}")
    print("(Run = late and still running; (miss) = of those, in the cycle right after a dummy-driver timer "
          "miss,\n which the driver starts at once; Trig = woken but not yet scheduled; C twin = a C client\n"
          " wired like the daemon, doing fixed work that takes the daemon's median under control traffic\n alone, on a quiet CPU)")
    print()
    for r in results:
        pl = r["python_load"]
        cb = r["daemon"]["callback"]
        print(f"{r['channels']} ch x {r['period']}: Python side: {pl['control_rate_hz']} control changes/s "
              f"({pl['control_late_5ms']} made > 5 ms late, latest {pl['control_late_ms_max']} ms), "
              f"{pl['gil_holds']} GIL holds (sorted() of {SORT_LEN}: median {pl['gil_hold_ms_median']} ms, "
              f"max {pl['gil_hold_ms_max']} ms, {100 * pl['gil_held_fraction']:.0f} % of the time), "
              f"{pl['spin_iterations']} spin loops, {pl['meter_reads']} meter reads")
        print(f"  callback p99.9 {cb['p999_us']} us; > 50 % of the period: {cb['over_50pct']}, > period: "
              f"{cb['over_period']}; durations collected {cb['n']} (lost {cb['lost']})")
        lc = r["daemon"].get("late_cycles")
        if lc:
            by = lc["late_by"]
            print(f"  cycles where the daemon ended after the next had begun: {lc['late']} of {lc['cycles']}, "
                  f"by the part most over its median: cycle began late {by['began_late']}, feeder ran long "
                  f"{by['feeder']}, daemon woken late {by['handoff']}, daemon's callback ran long "
                  f"{by['callback']}; cycles the daemon missed: {lc['skipped_cycles']}")
            for k, label in (("began_late", "cycle began late"), ("feeder", "feeder's callback"),
                             ("handoff", "hand-off feeder -> daemon"), ("callback", "daemon's callback")):
                v = lc["parts_us"][k]
                nr = lc["not_running_us"].get(k)
                extra = (f"; thread not running in it p99 / max {nr['p99']} / {nr['max']} us"
                         if nr and nr["max"] is not None else "")
                print(f"    {label:<26} p50 / p99 / p99.9 / max {v['p50']} / {v['p99']} / {v['p999']} / "
                      f"{v['max']} us{extra}")
            c = lc["callback_cpu_us"]
            if c["max"] is not None:
                print(f"    daemon's callback on its thread's CPU clock p50 / p99 / p99.9 / max {c['p50']} / {c['p99']}"
                      f" / {c['p999']} / {c['max']} us")
            for wl in lc["worst_late_us"]:
                print(f"    late cycle: began {wl['began_late']} us late, feeder {wl['feeder']} us (not running "
                      f"{wl['feeder_not_running']}), hand-off {wl['handoff']} us, callback {wl['callback']} us "
                      f"(not running {wl['callback_not_running']}), ended {wl['over']} us after the next began")
        for label, w in (("busy", r), ("idle", r["idle"])):
            if w:
                at = w["audio_thread"]
                print(f"  {label}: CPU steal {w['steal_pct']} % of CPU time; daemon's audio thread: "
                      f"{at.get('minflt', '?')} minor / {at.get('majflt', '?')} major page faults, "
                      f"{at.get('nonvol_ctxsw', '?')} involuntary context switches")
        print(f"  RT threads (policy, prio): daemon {r['rt_threads']['daemon']}, baseline "
              f"{r['rt_threads']['baseline']}, feeder {r['rt_threads']['feeder']}; "
              f"load average at start {r['loadavg_at_start']}")
    print()
    print("targets (issue 4: meant for 10 min at 64 frames; shorter runs indicate):")
    for r in results:
        for label, t in r["targets"].items():
            print(f"  {r['channels']:3d} ch x {r['period']:<4} {label:<38} {t['value']!s:>10}  target "
                  f"{t['target']:<7} {t['result']}")


def run_host_reference(periods: list[int], seconds: float, realtime: bool, workdir: Path,
                       keep_logs: str | None, started, jackd_version: str, t_wall: float) -> int:
    """``--host-reference``: print the host's own timer misses per period, a table and a JSON line."""
    results = []
    try:
        for period in periods:
            print(f"host reference at {period} frames: jackd + jack_simple_client only, {seconds:.0f} s ...",
                  flush=True)
            results.append(host_reference(period, seconds, realtime, workdir))
    finally:
        if not keep_logs:
            shutil.rmtree(workdir, True)
    print()
    print(f"{'period':>6} | {'timer misses':>12} {'latest us':>9} | {'baseline xruns':>14} {'Run':>4} | steal %")
    for r in results:
        b = r["baseline"]
        print(f"{r['period']:>6} | {r['driver_xruns']:>12} {r['driver_late_us_max']:>9} | {b['xruns']:>14} "
              f"{b['running']:>4} | {r['steal_pct']}")
    rec = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "mode": "host reference", "cpu": cpu_model(),
           "nproc": os.cpu_count(), "jackd": jackd_version, "seconds_per_period": seconds,
           "results": results, "wall_s": round(time.monotonic() - t_wall, 1)}
    print("JSON " + json.dumps(rec, separators=(",", ":")))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="loaded run per configuration (default 60)")
    ap.add_argument("--minutes", type=float, help="the same in minutes (overrides --seconds)")
    ap.add_argument("--quick", action="store_true", help="15 s per configuration, 5 s idle")
    ap.add_argument("--idle-seconds", type=float, default=IDLE_S,
                    help=f"callback times with the Python side idle first (default {IDLE_S:g}; 0 = skip)")
    ap.add_argument("--channels", type=int, help="one configuration: this many input channels ...")
    ap.add_argument("--period", type=int, help="... at this period (frames); default both configurations "
                                               "(32 x 64, 64 x 128)")
    ap.add_argument("--twin", action="store_true",
                    help="add the C twin to the loaded window (one more busy client on the machine)")
    ap.add_argument("--cpu-latency-us", type=int, metavar="US",
                    help="hold a PM QoS CPU latency request (/dev/cpu_dma_latency) for the run; "
                         "0 keeps the CPUs polling instead of idling")
    ap.add_argument("--audio-cpu", type=int, metavar="N",
                    help="pin every real-time thread (jackd, daemon, feeder, baseline) to CPU N; "
                         "the daemon's Python threads stay free (see --python-cpu)")
    ap.add_argument("--python-cpu", type=int, metavar="M",
                    help="pin the daemon's threads that are not real-time (its Python side and the "
                         "load on it) to CPU M; with --audio-cpu N, N != M, the audio CPU runs "
                         "the graph alone")
    ap.add_argument("--host-reference", action="store_true",
                    help="run only jackd and jack_simple_client (no daemon, feeder or load) for the "
                         "loaded window's length at each period: the host's own timer misses")
    ap.add_argument("--no-realtime", action="store_true", help="jackd --no-realtime instead of -R")
    ap.add_argument("--rev", metavar="COMMIT",
                    help="run the engine and adapters as committed in COMMIT instead of the working tree")
    ap.add_argument("--keep-logs", metavar="DIR", help="keep jackd's logs (and the feeder) in DIR")
    args = ap.parse_args()
    if args.python_cpu is not None and args.no_realtime:
        # without SCHED_FIFO the audio thread could not be told from the Python side
        ap.error("--python-cpu needs the real-time server (not --no-realtime)")
    seconds = 15.0 if args.quick else args.seconds
    idle_s = 5.0 if args.quick else args.idle_seconds
    if args.minutes:
        seconds = 60.0 * args.minutes
    configs = [(args.channels or 32, args.period or 64)] if (args.channels or args.period) else list(CONFIGS)
    if shutil.which("jackd") is None or shutil.which("jack_simple_client") is None:
        print("jackd and jack_simple_client are needed: apt-get install --no-install-recommends jackd2")
        return 2
    source = load_automixd(args.rev)
    workdir = Path(args.keep_logs) if args.keep_logs else Path(tempfile.mkdtemp(prefix="automixd-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)

    import jack  # noqa: PLC0415 - version only
    import numba  # noqa: PLC0415

    started = _dt.datetime.now(_dt.timezone.utc)
    t_wall = time.monotonic()
    jackd_version = subprocess.run(["jackd", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"automixd real-time soak, host reference ({seconds:.0f} s per period)" if args.host_reference else
          f"automixd real-time soak ({seconds:.0f} s loaded + {idle_s:.0f} s idle per configuration)")
    print(f"{os.cpu_count()} cpu  {cpu_model()}  python {platform.python_version()}  numba {numba.__version__}  "
          f"JACK-Client {jack.__version__}  {jackd_version}")
    print(f"engine: {source}")
    if args.host_reference:
        return run_host_reference(sorted({p for _, p in configs}), seconds, not args.no_realtime, workdir,
                                  args.keep_logs, started, jackd_version, t_wall)
    jb.warm_up()
    feeder_exe = build_c(workdir, "soak_feeder", FEEDER_C)
    twin_exe = build_c(workdir, "soak_twin", TWIN_C) if feeder_exe and args.twin else None
    results = []
    qos = None
    if args.cpu_latency_us is not None:
        # held for the whole run: a system-wide setting, so the baseline gets it too
        from automixd.adapters.cpu_latency import CpuLatencyRequest  # noqa: PLC0415

        qos = CpuLatencyRequest(args.cpu_latency_us)
        print(f"CPU wake-up latency limited to {args.cpu_latency_us} us (/dev/cpu_dma_latency)")
    try:
        for n_ch, period in configs:
            print(f"running {n_ch} ch x {period} frames: {idle_s:.0f} s idle, then {seconds:.0f} s loaded "
                  f"(jackd {'--no-realtime' if args.no_realtime else '-R'}) ...", flush=True)
            r = run_config(n_ch, period, seconds, idle_s, not args.no_realtime, workdir, feeder_exe,
                           twin_exe, log=lambda m: print(m, flush=True), audio_cpu=args.audio_cpu,
                           python_cpu=args.python_cpu)
            r["targets"] = targets(r)
            results.append(r)
    finally:
        if qos is not None:
            qos.close()
        if not args.keep_logs:
            shutil.rmtree(workdir, True)
    print()
    modes = sorted({"jackd -R (SCHED_FIFO)" if r["realtime"] else "jackd --no-realtime" for r in results})
    print(f"server: {', '.join(modes)}; dummy driver, {FS} Hz; every channel: HPF, gate, 4-band EQ, "
          f"compressor, automix group 1 (share); feeder {results[0]['feeder_kind']}")
    print()
    print_table(results)
    rec = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "engine": source,
           "cpu": cpu_model(), "nproc": os.cpu_count(), "python": platform.python_version(),
           "numba": numba.__version__, "jackd": jackd_version, "seconds_per_config": seconds,
           "idle_seconds": idle_s, "cpu_latency_us": args.cpu_latency_us, "results": results, "wall_s": round(time.monotonic() - t_wall, 1)}
    print("JSON " + json.dumps(rec, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
