"""The pipeline's vocabulary: what the modes and the stages speak, and nothing they are wired to.

Typed frozen messages (``messages``) flow through bounded channels (``channel``) between small
stages (``stage``), with blocking work on worker threads (``worker``) and latency figures kept
as plain data (``metrics``). This package knows no device, model, link or setting, so the modes
(``glasses.modes``) can import it and nothing else of the daemon.

The wiring above the modes (the stages themselves, peripherals, parts, status, the daemon)
lives in ``glasses.runtime``; it imports this package, never the other way round.
"""
