"""OpenAI's chat completion wire format, shared by ``glasses serve`` and the remote backend.

The shapes of requests, answers, stream chunks and error bodies, and the checks on what a
peer sends (strict JSON: no NaN or infinity, typed and ranged fields, size-limited streams).
Both ends use this one package so they cannot drift apart.  It imports neither the engine
(:mod:`glasses.llm`) nor the server (:mod:`glasses.server`): the callers map its plain values
to and from engine types, and reading the remote's stream pulls in no numpy or onnxruntime.

* :mod:`.sse` - Server-Sent Events, encoder and size-limited decoder;
* :mod:`.errors` - the error body ``{"error": {...}}``, both ways;
* :mod:`.values` - strict JSON and typed, ranged fields;
* :mod:`.request` - the request body a client builds and the checks a server applies;
* :mod:`.response` - answers and stream chunks as a server builds them;
* :mod:`.stream` - reading a streamed answer as a client.
"""
