"""Cluster mode: one room shared by many server processes over Redis (``--redis-url``).

``entries`` (the stream's entry format), ``replica`` (what each entry means for this node's
room) and ``scripts`` (the Lua scripts) are plain Python; ``redis_room`` imports redis-py, so
nothing here is imported unless cluster mode is asked for.
"""
