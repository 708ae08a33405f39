"""The daemon's pipeline: typed messages (``messages``) flowing through bounded channels
(``channel``) between small stages (``stage``), with blocking work on worker threads
(``worker``) and latency figures kept as plain data (``metrics``).

asyncio orchestrates; VAD, ASR, OCR, the LLM, rendering and device I/O run on worker threads,
so the event loop never blocks. ``glasses.daemon`` assembles the stages.
"""
