"""Cluster mode: one room shared by many server processes over Redis (``--redis-url``).

``entries`` (the stream's entry format), ``replica`` (what each entry means for this node's
room), ``scripts`` (the Lua scripts) and ``target`` (``--redis-url`` parsed) are plain Python;
``clients`` and ``room_redis`` import redis-py, so they are imported only in cluster mode.
"""
