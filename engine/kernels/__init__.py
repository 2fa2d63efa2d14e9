"""Compiled DSP kernels (numba): everything here runs in the audio thread."""
