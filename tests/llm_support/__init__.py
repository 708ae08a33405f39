"""Test support for the LLM engine: tiny random Qwen2/Qwen3 ONNX models and a numpy reference.

Nothing here is imported by ``glasses`` itself; the builders write model folders that follow the
real Hugging Face Optimum / onnx-community and onnxruntime-genai file and graph contracts.
"""
