"""algokart-chat: a multi-user chat server (line protocol and IRC) on the standard library only.

``algokart_chat.server`` is the server (the command ``algokart-chat``), ``algokart_chat.test_client``
the terminal client (``algokart-chat-client``).  From a clone, ``python src/server.py`` runs it
without installing anything (see ``algokart_chat.py`` beside this file).
"""
