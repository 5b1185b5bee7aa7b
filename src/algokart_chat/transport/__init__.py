"""Transport: the protocol-neutral connection and what lies between it and the socket.

``connection`` is the coordinator (the asyncio protocol, its lifecycle, what it owes and when it
is reset), with its parts: ``interfaces`` (what it needs of its session and of the server),
``input_pump`` (reads framed as far as the budgets pay, and the holds), ``output_queue`` (payload
references written a chunk at a time) and ``flow_control`` (the limits each way, and their
arithmetic).  Under it: TLS (``tls``, ``tls_transport``) and TCP keepalive (``keepalive``)."""
