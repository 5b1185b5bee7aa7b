"""algokart-chat: a multi-user chat server (line protocol and IRC) on the standard library only.

The package in layers; every import runs down this list, never up or sideways into a higher layer
(tests/test_layers.py checks it):

1. pure cores, values in and values out, with no socket, clock or global state: ``framing``
   (lines and telnet), ``protocol`` (the line protocol), ``irc`` (IRC's wire format), ``names``
   (with ``unicode_tables``, generated data), ``text``, ``cross_protocol``, ``events`` (what
   happens in the room), ``room`` (the room's interface and guarantees), ``token_bucket``,
   ``version``, ``config`` (the settings, from the table of ``options``), ``logs`` (the log formats and writer),
   ``cluster.entries``, ``cluster.scripts``, ``cluster.target`` (cluster mode's keys, entries,
   scripts and URL), ``accounts`` (accounts, password hashes, the file's lines),
   ``accounts_file`` (that file on disk), ``login_throttle`` (failed logins counted),
   ``history_records`` (the room's recent messages kept, by place) and ``history`` (the
   questions asked of them),
   ``moderation`` (bans and mutes) and ``bans_file`` (their file on disk);
2. ``transport/``: the protocol-neutral connection and what lies under it (TLS, keepalive); and
   ``password_checks``, the sessions' password checks off the event loop; ``moderators``, the bans
   and mutes in use with their file and audit log;
3. ``sessions/``: one session per protocol on a connection: ``line_session``, with its parts
   such as ``line_login`` (up to ``OK``), and ``irc_session``, with its parts such as
   ``irc_registration`` (up to the welcome), ``irc_presence`` (JOIN/PART/AWAY), ``irc_sasl``
   (SASL PLAIN), ``irc_history`` (CHATHISTORY, the replay after a JOIN) and ``irc_moderation``
   (its operators' commands);
4. the rooms: ``room_memory`` and, in ``cluster/``, ``replica`` (with its parts
   ``replica_profiles`` and ``replica_history``) and ``window`` (pure) with ``clients``,
   ``link``, ``lease``, ``writer``, ``reader`` and ``room_redis`` (redis-py, imported in cluster
   mode only);
5. ``server/``: the server that accepts connections and wires the rest together;
6. entry points: ``command`` (the command ``algokart-chat``; ``python -m algokart_chat``), which
   runs ``main`` (the server) or ``accounts_cli`` (its ``accounts`` subcommand), importing only
   that one; and ``client/`` (the terminal client, ``algokart-chat-client``).

From a clone, ``python src/server.py`` and ``python src/test_client.py`` run them with nothing
installed.
"""
