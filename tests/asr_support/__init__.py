"""Test support for speech recognition: tiny random-weight sherpa-onnx model folders.

Real weights cannot ship with the tests, so :mod:`.tiny_sensevoice`, :mod:`.tiny_moonshine` and
:mod:`.tiny_zipformer` write folders that follow the sherpa-onnx file, graph and metadata
contracts of SenseVoice, Moonshine and the streaming zipformer transducers exactly, and are
loaded by the real ``sherpa_onnx`` recognisers.  Nothing here is imported by ``glasses`` itself.
"""
