"""Perception: voice activity, utterance segmentation, speech recognition and OCR.

Every model runs on the CPU of the worn computer through ONNX Runtime (directly, or inside
rapidocr / sherpa-onnx); the state machines that decide *when* something happened are pure and
take time as data, so they are tested without models or clocks.
"""
