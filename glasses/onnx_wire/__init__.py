"""ONNX files read (and lightly edited) at the protobuf wire level, without ``onnx``.

Why hand-written: the engine, ``glasses models info`` and the speech-model checks need an ONNX
file's operators, graph inputs and outputs, metadata and external-data references, never its
weights.  ``onnx.load`` parses the whole file and copies every initializer into Python
objects (gigabytes for an LLM, and the ``onnx`` package is not a run-time dependency);
walking the wire format through a memory map finds the fields by offset and skips weight
payloads by their length, so a scan of an 800 MB model is instant and copies nothing.

* :mod:`.protobuf` - the wire format: fields by offset, varints, encoding a few fields;
* :mod:`.fields` - the field numbers of ``onnx.proto`` that glasses reads (one copy);
* :mod:`.scan` - operators, opsets and external data of a model, checked before loading;
* :mod:`.metadata` - ``metadata_props`` and graph input/output names;
* :mod:`.gather_table` - where a one-``Gather`` lookup graph keeps its table (to memory-map).
"""
