"""automixd's core: compiled DSP kernels, parameters, scenes and the engine API.

Nothing here does I/O; the adapters (files, JACK, PortAudio, OSC, MIDI) do.
"""

from .engine import Engine
from .params import ParamSpec, ParamTable
from .scene import Scene, SceneError

__all__ = ["Engine", "ParamSpec", "ParamTable", "Scene", "SceneError"]
