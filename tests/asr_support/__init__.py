"""Test support for speech recognition: tiny random-weight SenseVoice model folders.

Real SenseVoice weights cannot ship with the tests, so :mod:`.tiny_sensevoice` writes a folder
that follows the sherpa-onnx SenseVoice file, graph and metadata contract exactly and is loaded
by the real ``sherpa_onnx.OfflineRecognizer``.  Nothing here is imported by ``glasses`` itself.
"""
