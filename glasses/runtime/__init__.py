"""The daemon's wiring: the stages, devices and models assembled around the modes.

``daemon`` builds the stages (``*_stage(s)``: control, display, generate, listen, capture and
OCR), feeds device input events through ``peripherals`` (where button and swipe codes on the
wire become intents), builds models and devices from settings (``parts``), and writes the
status file (``status``). ``control_socket`` serves ``glasses mode``; ``daemon_thread`` runs the
daemon in a background thread for the demo, the benchmark and tests; ``feeds`` and ``media``
are stand-in devices and test media; ``logs`` configures logging.

It speaks the vocabulary of ``glasses.pipeline`` (messages, channels, stages) and drives
``glasses.modes``; neither of those imports anything from here. asyncio orchestrates; VAD, ASR,
OCR, the LLM, rendering and device I/O run on worker threads, so the event loop never blocks.
"""
