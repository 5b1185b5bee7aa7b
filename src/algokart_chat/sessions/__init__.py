"""Sessions: one per protocol, each on a ``transport.connection.Connection``: ``line_session`` (the
line protocol of nc and telnet) and ``irc_session`` (the IRC gateway), with the gateway's parts:
``irc_channel`` (the room as one channel, room events as IRC lines), ``irc_messages`` (``PRIVMSG``
and ``NOTICE``), ``irc_queries`` (``WHO``, ``NAMES``, ``MODE`` and the other queries) and
``irc_replies`` (the welcome burst, 432's reasons, the ``ERROR`` line of a close).  They turn
commands into room calls and room events into their protocol's lines."""
