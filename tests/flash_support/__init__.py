"""Test support for firmware updates: keys and images made with MCUboot's imgtool, and an
in-process driver for the simulated bootloader.

Nothing here is imported by ``glasses`` or ``hw_sim``.
"""
