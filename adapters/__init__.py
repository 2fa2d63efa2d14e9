"""Adapters: everything that touches the world (files, CLI; later JACK, PortAudio, OSC, MIDI)."""
