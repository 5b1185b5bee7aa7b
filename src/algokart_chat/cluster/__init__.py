"""Cluster mode: one room shared by many server processes over Redis (``--redis-url``).

``entries`` (the stream's entry format), ``replica`` (what each entry means for this node's
room), ``window`` (what the node read of the stream, and where writes trim it), ``scripts`` (the
Lua scripts) and ``target`` (``--redis-url`` parsed) are plain Python.  ``room_redis`` (the
room, the coordinator) and its parts ``link`` (the clients), ``lease`` (the node's place),
``writer`` (the write pipeline) and ``reader`` (the stream reader), with ``clients``, import
redis-py, so they are imported only in cluster mode.
"""
