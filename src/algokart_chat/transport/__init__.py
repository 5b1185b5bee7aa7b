"""Transport: the protocol-neutral connection (``connection``: input budget, output queue, closing)
and what lies between it and the socket: TLS (``tls``, ``tls_transport``) and TCP keepalive."""
