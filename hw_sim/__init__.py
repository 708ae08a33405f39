"""Hardware simulator: a display MCU that speaks the real link protocol."""
