"""The cluster's Lua scripts: each runs atomically in Redis and touches only one cluster's keys
(``entries.Keys``; KEYS are passed in that order, the per-node sets are built from their prefix
inside the same hash-tag slot).

Every script that writes checks the epoch first (``reset``: Redis lost its data) and, where a
node acts for its users, that the node still holds its lease (``expired``).  Claims and leaves
are idempotent, so a call repeated after a broken link changes nothing the first one did not:
a claim by the same token answers ``ok`` again, a leave of a name no longer held does nothing.
Appends trim the stream to entries newer than ARGV's ``minid`` (approximately, as XADD MINID ~).
"""

from __future__ import annotations

from typing import Final

# Redis's clock in milliseconds.
_NOW_MS: Final = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

# Remove every user of node `node` (held under `prefix .. node`) and append their leaves.
_RETIRE_NODE: Final = """
local function retire(users, events, prefix, node, minid)
  local count = 0
  local set = prefix .. node
  for _, key in ipairs(redis.call('SMEMBERS', set)) do
    local held = redis.call('HGET', users, key)
    if held then
      local holder, token, name = string.match(held, '^%S+ (%S+) (%S+) (%S+)')
      if holder == node then
        redis.call('HDEL', users, key)
        redis.call('XADD', events, 'MINID', '~', minid, '*', 't', 'l', 'n', name, 'c', token)
        count = count + 1
      end
    end
  end
  redis.call('DEL', set)
  return count
end
"""

# KEYS: epoch nodes events users bans mutes.  ARGV: a new epoch (used if there is none), node,
# lease ms, node set prefix, minid, the node id this process had before ('' if none).
# Retires the previous node id (its users are gone: their names are free at once), takes a lease,
# and returns {epoch, id of the stream's last entry or 0-0, {user values}, {ban and mute values},
# 1 if this call set the epoch (the cluster's data starts now) else 0}: a snapshot of the room.
REGISTER: Final = (
    _NOW_MS
    + _RETIRE_NODE
    + """
if ARGV[6] ~= '' then
  retire(KEYS[4], KEYS[3], ARGV[4], ARGV[6], ARGV[5])
  redis.call('ZREM', KEYS[2], ARGV[6])
end
local fresh = 0
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then fresh = 1 end
local epoch = redis.call('GET', KEYS[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local last_id = '0-0'
if last[1] then last_id = last[1][1] end
local lists = redis.call('HVALS', KEYS[5])
for _, value in ipairs(redis.call('HVALS', KEYS[6])) do table.insert(lists, value) end
return {epoch, last_id, redis.call('HVALS', KEYS[4]), lists, fresh}
"""
)

# KEYS: epoch nodes events users.  ARGV: epoch, node, lease ms, node set prefix, minid.
# Renews this node's lease and retires every node whose lease has run out (exactly once,
# however many nodes run this at the same moment).  Returns {'ok', the newest id trimmed off the
# stream (Redis 7+; 0-0 where unknown), users retired}, or {'reset'} / {'expired'}.
RENEW: Final = (
    _NOW_MS
    + _RETIRE_NODE
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'reset'} end
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then return {'expired'} end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
local retired = 0
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  retired = retired + retire(KEYS[4], KEYS[3], ARGV[4], node, ARGV[5])
  redis.call('ZREM', KEYS[2], node)
end
local trimmed = '0-0'
if redis.call('EXISTS', KEYS[3]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[3])
  for i = 1, #info - 1, 2 do
    if info[i] == 'max-deleted-entry-id' then trimmed = info[i + 1] end
  end
end
return {'ok', trimmed, retired}
"""
)

# A user's value is `<join id> <node> <token> <name>[ a=<account>][ h]`: hidden if a word after the
# first four is there and the last is `h` (lease.snapshot_users reads it the same way).
_HIDDEN: Final = """
local HIDDEN = '^%S+ %S+ %S+ %S+.* h$'
"""

# KEYS: epoch nodes events users node-set.  ARGV: epoch, node, token, name key, name, minid,
# hidden ('1' or '0'), for a rename the old name key, old token and old name ('' if none), and the
# account the login's password was checked for, if any (ARGV[11]: absent or '' for none).
# Claims a name and appends the join in one step; a rename frees the old name in the same step
# (if that login still holds it: else it is a plain claim).  The user's value keeps ` a=<account>`
# before the ` h` mark.  Whether a user is hidden is read from the words after its name (HIDDEN:
# the last is `h`), never from the value's last two characters: a guest may be named `h`.  Returns {'ok', join id}, {'taken'}, {'reset'} or {'expired'}.
CLAIM: Final = (
    _HIDDEN
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'reset'} end
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then return {'expired'} end
local held = redis.call('HGET', KEYS[4], ARGV[4])
if held then
  local id, token = string.match(held, '^(%S+) %S+ (%S+) ')
  if token == ARGV[3] then return {'ok', id} end
  if ARGV[4] ~= ARGV[8] or token ~= ARGV[9] then return {'taken'} end
end
local fields = {'t', 'j', 'n', ARGV[5], 'o', ARGV[2], 'c', ARGV[3]}
local hidden = ARGV[7] == '1'
if ARGV[8] ~= '' then
  local old = redis.call('HGET', KEYS[4], ARGV[8])
  if old and string.match(old, '^%S+ %S+ (%S+) ') == ARGV[9] then
    hidden = string.find(old, HIDDEN) ~= nil
    redis.call('HDEL', KEYS[4], ARGV[8])
    redis.call('SREM', KEYS[5], ARGV[8])
    table.insert(fields, 'r') table.insert(fields, ARGV[10])
    table.insert(fields, 'rc') table.insert(fields, ARGV[9])
  end
end
if hidden then table.insert(fields, 'h') table.insert(fields, '1') end
local account = ARGV[11] or ''
if account ~= '' then table.insert(fields, 'a') table.insert(fields, account) end
local id = redis.call('XADD', KEYS[3], 'MINID', '~', ARGV[6], '*', unpack(fields))
local value = id .. ' ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[5]
if account ~= '' then value = value .. ' a=' .. account end
if hidden then value = value .. ' h' end
redis.call('HSET', KEYS[4], ARGV[4], value)
redis.call('SADD', KEYS[5], ARGV[4])
return {'ok', id}
"""
)

# KEYS: users events.  ARGV: name key, token, name, what ('1' shown, '0' hidden, 'a' away), minid,
# text (a PART's reason or the away message; '' if none).
# Moves a held name into the room or out of it (an IRC JOIN or PART) and appends the presence
# entry, only if that login still holds it and it is not there already; or, for 'a', appends an
# away entry: a presence entry with the away message, to where the name is already (so nodes that
# do not know away messages change nothing).  Returns 1 or 0.
PRESENCE: Final = (
    _HIDDEN
    + """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held then return 0 end
if string.match(held, '^%S+ %S+ (%S+) ') ~= ARGV[2] then return 0 end
local hidden = string.find(held, HIDDEN) ~= nil
local fields = {'t', 'p', 'n', ARGV[3], 'c', ARGV[2]}
if ARGV[4] == 'a' then
  table.insert(fields, 's') table.insert(fields, hidden and '0' or '1')
  table.insert(fields, 'a') table.insert(fields, ARGV[6])
else
  if (ARGV[4] == '1') ~= hidden then return 0 end
  if hidden then held = string.sub(held, 1, -3) else held = held .. ' h' end
  redis.call('HSET', KEYS[1], ARGV[1], held)
  table.insert(fields, 's') table.insert(fields, ARGV[4])
  if ARGV[6] and ARGV[6] ~= '' then table.insert(fields, 'q') table.insert(fields, ARGV[6]) end
end
redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[5], '*', unpack(fields))
return 1
"""
)

# KEYS: users events node-set.  ARGV: name key, token, name, minid, reason ('' if none).
# Frees a name and appends the leave, only if that token still holds it.  Returns 1 or 0.
LEAVE: Final = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held then return 0 end
local token = string.match(held, '^%S+ %S+ (%S+) ')
if token ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
local fields = {'t', 'l', 'n', ARGV[3], 'c', ARGV[2]}
if ARGV[5] and ARGV[5] ~= '' then table.insert(fields, 'q') table.insert(fields, ARGV[5]) end
redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[4], '*', unpack(fields))
return 1
"""

# KEYS: epoch events list (bans or mutes).  ARGV: epoch, node, minid, action (set, lift, kick),
# target key, the change's JSON, the most entries the list may hold.
# Changes the list as the action says (set: the entry's JSON under its target key; lift: removes
# it; kick: nothing) and appends the moderate entry in the same step.  A set on a full list first
# drops the entries that have ended (Redis's clock).  Returns 'ok', 'none' (nothing to lift),
# 'full' or 'reset'.
MODERATE: Final = (
    _NOW_MS
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'reset' end
if ARGV[4] == 'set' then
  if redis.call('HEXISTS', KEYS[3], ARGV[5]) == 0 and redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[7]) then
    local all = redis.call('HGETALL', KEYS[3])
    for i = 1, #all - 1, 2 do
      local ok, entry = pcall(cjson.decode, all[i + 1])
      if ok and type(entry) == 'table' and type(entry['until']) == 'number' and entry['until'] * 1000 <= now then
        redis.call('HDEL', KEYS[3], all[i])
      end
    end
    if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[7]) then return 'full' end
  end
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
elseif ARGV[4] == 'lift' then
  if redis.call('HDEL', KEYS[3], ARGV[5]) == 0 then return 'none' end
end
redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[3], '*', 't', 'x', 'a', ARGV[4], 'o', ARGV[2], 'd', ARGV[6])
return 'ok'
"""
)

# KEYS: nodes events users.  ARGV: node, node set prefix, minid.
# A node stopping: its users leave (announced at once) and its lease goes.  Returns users retired.
RETIRE: Final = (
    _RETIRE_NODE
    + """
local retired = retire(KEYS[3], KEYS[2], ARGV[2], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[1], ARGV[1])
return retired
"""
)
