"""A hard limit per test that holds even when the interpreter cannot run.

``pytest-timeout`` (600 s, see pyproject.toml) fails a stuck test with every
thread's stack, but its timer is a Python thread: if a deadlock leaves the GIL
locked for good (a JACK process thread cancelled inside Python did exactly
that), it never runs and CI waits out its 90-minute limit. ``faulthandler``'s
watchdog is a C thread: it dumps every thread's stack without the GIL
(``faulthandler_timeout`` in pyproject.toml), and ``SIGALRM`` with its default
action ends the process from the kernel a minute after that.
"""

from __future__ import annotations

import signal

import pytest

#: Seconds: after pytest-timeout (600) and the faulthandler dump (620).
HARD_LIMIT_S = 680

signal.signal(signal.SIGALRM, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _hard_limit():
    signal.alarm(HARD_LIMIT_S)
    yield
    signal.alarm(0)
