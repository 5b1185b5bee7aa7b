"""Sessions: one per protocol, each on a ``transport.connection.Connection``: ``line_session`` (the
line protocol of nc and telnet) and ``irc_session`` (the IRC gateway, with its parts:
``irc_channel``, the room as one channel and room events as IRC lines).  They turn commands into
room calls and room events into their protocol's lines."""
