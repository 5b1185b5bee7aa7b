"""algokart-chat: a multi-user chat server (line protocol and IRC) on the standard library only.

The package in layers; every import runs down this list, never up:

- pure cores, bytes or text in and values out, with no socket, clock or global state:
  ``framing`` (lines and telnet), ``protocol`` (the line protocol), ``irc`` (IRC's wire format),
  ``names``, ``text``, ``cross_protocol``, ``events`` (what happens in the room), ``room`` (the
  room's interface and rules), ``token_bucket``, with ``unicode_tables`` (generated data);
- ``transport/``: the protocol-neutral connection and what sits under it (TLS, keepalive);
- ``sessions/``: one session per protocol (``line_session``, ``irc_session``), on a connection;
- ``room_memory`` and ``cluster/`` (the room over Redis): the rooms the sessions talk through;
- ``server/``: the server that accepts connections and wires the rest together;
- entry points: ``main`` (the command ``algokart-chat``, ``python -m algokart_chat``) with
  ``config`` (its settings) and ``logs``, and ``client`` (``algokart-chat-client``).

From a clone, ``python src/server.py`` and ``python src/test_client.py`` run them with nothing
installed.
"""
