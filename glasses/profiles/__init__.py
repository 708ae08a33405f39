"""Device profiles: TOML settings for a Raspberry Pi 5 and a Jetson Orin (``glasses run
--profile pi5``), read with ``importlib.resources``; see ``glasses.settings``."""
