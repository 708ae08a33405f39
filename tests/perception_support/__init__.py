"""Helpers for the perception and source tests: speech made with espeak-ng, sign images drawn
with Pillow, fakes for devices.  Everything is generated at test time; nothing binary is kept."""
