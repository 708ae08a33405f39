"""``glasses flash``: signed firmware updates of the display MCU over SMP (docs/flashing.md).

Heavy dependencies (smpclient, cryptography) come with the ``flash`` extra and are imported
only when a flash runs.
"""
