"""The server: ``chat_server.ChatServer`` wires together ``listeners`` (the listening sockets),
``admission`` (the connection limits), ``deadlines`` (the time-outs), ``output`` (the output
scheduler), ``stats`` (the stats line and refusal summaries) and ``memory`` (giving memory back);
``clock`` is the narrow view of the event loop they share."""
