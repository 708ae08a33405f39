"""Firmware updates of the display MCU: the MCUboot image format and its signature checks.

Pure code shared by the host (``glasses flash``) and the simulated bootloader (``hw_sim``), so
that both read an image the same way (docs/flashing.md, docs/protocol.md section 11).
"""
