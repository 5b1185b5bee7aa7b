"""The terminal client (``algokart-chat-client``; ``python src/test_client.py`` from a clone).

``main`` reads the flags, connects and runs one of two modes, ``interactive`` (stdin is a
terminal) or ``scripted`` (a pipe or a file); both talk through ``connection`` (the socket, with
TLS when asked, owned by one I/O thread) and show what the server sends as ``terminal`` says (made
safe to show, above the prompt, in colour)."""
