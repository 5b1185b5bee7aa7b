"""The terminal client (``algokart-chat-client``; ``python src/test_client.py`` from a clone):
``main`` reads the flags and runs it (see its docstring for the modes and the exit statuses)."""
