"""Build a tiny random-weight SenseVoice model folder for trying speech recognition offline.

    python scripts/build_test_asr_model.py OUT_DIR [--seed 0] [--language zh] [--int8]
    glasses listen --file speech.wav --asr-model OUT_DIR

Needs the test extras (onnx, onnxruntime for --int8).  The folder follows the sherpa-onnx
SenseVoice contract and loads like a real one, but the weights are random: it names the language
you choose and turns speech into gibberish (silence into nothing).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from asr_support.tiny_sensevoice import LANGUAGE_IDS, build_tiny_sensevoice_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to create")
    parser.add_argument("--seed", type=int, default=0, help="weights seed (0)")
    parser.add_argument(
        "--language",
        choices=[lang for lang in LANGUAGE_IDS if lang != "auto"],
        default="zh",
        help="language the model reports when asked to identify it (zh)",
    )
    parser.add_argument("--int8", action="store_true", help="model.int8.onnx (QUInt8 MatMul)")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime.quantization's pre-processing hint
    built = build_tiny_sensevoice_model(args.out, args.seed, language=args.language, int8=args.int8)
    print(f"built tiny SenseVoice ({built.model.name}, language {built.language}) in {built.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
