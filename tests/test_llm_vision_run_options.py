"""The vision encoder runs under options of its own (its CPU arena handed back after each
picture, the decoder's left alone), and cancelling a generation still aborts an encode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glasses.llm import CancelToken
from glasses.llm.session import onnxruntime
from glasses.llm.vision import VisionConfig, VisionLlmEngine
from glasses.llm.vision.run_options import SHRINK_CPU_ARENA, generation_run_options

pytestmark = pytest.mark.model

KEY = SHRINK_CPU_ARENA[0]


def test_the_encoder_shrinks_its_arena_and_the_decoder_does_not() -> None:
    ort = onnxruntime()
    options = generation_run_options(ort, shrink_encoder_arena=True)
    assert isinstance(options, ort.RunOptions)
    assert options.encode_options.get_run_config_entry(KEY) == "cpu:0"
    with pytest.raises(RuntimeError):  # not set on the decoder's runs
        options.get_run_config_entry(KEY)
    kept = generation_run_options(ort, shrink_encoder_arena=False)
    with pytest.raises(RuntimeError):
        kept.encode_options.get_run_config_entry(KEY)
    options.terminate = True
    assert options.terminate and options.encode_options.terminate
    assert not kept.terminate and not kept.encode_options.terminate


class _CancelInsideEncode:
    """The vision session, cancelling the generation as an encode starts (a wearer's second
    press while the picture is encoded)."""

    def __init__(self, session: Any, cancel: CancelToken) -> None:
        self._session, self._cancel = session, cancel
        self.aborted: list[bool] = []

    def run(self, names: Any, feeds: Any, run_options: Any) -> Any:
        self._cancel.cancel()
        try:
            out = self._session.run(names, feeds, run_options)
        except Exception:
            self.aborted.append(True)
            raise
        self.aborted.append(False)
        return out


@pytest.mark.parametrize("shrink", [True, False])
def test_a_cancel_aborts_the_encode_itself(vlm_folder: Path, shrink: bool) -> None:
    from test_llm_vision import GREEDY, ask, picture

    engine = VisionLlmEngine.load(vlm_folder, vision=VisionConfig(shrink_encoder_arena=shrink))
    cancel = CancelToken()
    spy = _CancelInsideEncode(engine._vision_session, cancel)
    engine._vision_session = spy
    assert engine.generate(ask(picture(6)), GREEDY, cancel).finish_reason == "cancelled"
    assert spy.aborted == [True]
    engine._vision_session = spy._session
    again = engine.generate(ask(picture(6)), GREEDY)  # the next generation encodes anew
    assert again.finish_reason != "cancelled" and again.token_ids
