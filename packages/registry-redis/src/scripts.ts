/**
 * The Lua scripts behind every mutation and read. Each runs atomically on the one slot of a
 * namespace, so a change and its announcement (PUBLISH) happen together, and of many sweepers
 * exactly one removes (and announces) each expired record.
 *
 * Time is the SERVER's (`TIME`): callers pass a lifetime in ms, never a timestamp, and reads
 * and sweeps compare expiries with the server's clock, so a peer whose clock is off is seen,
 * and times out, exactly like the others.
 *
 * A key of the namespace holding the wrong type (a string where a hash belongs, written by
 * hand or by another program) never breaks the namespace: reads skip it, writes move it aside
 * to `<key>:quarantined:<ms>` (same hash tag, so same slot) and go on. Every script returns
 * `{ result, keysSkippedOrMoved }` so the client can warn about them.
 *
 * Conventions: KEYS[1] = ids hash, KEYS[2] = expiry sorted set, KEYS[3] = names set,
 * KEYS[4] = a per-name hash; ARGV[1] = event channel, ARGV[2] = per-name hash prefix, then the
 * script's own arguments.
 */

/**
 * Every write script starts here: the server's time, and (Redis before 7, where scripts that
 * read TIME and then write need it; 7 replicates effects always) effects replication.
 */
const CLOCK = `
if not redis.REDIS_VERSION and redis.replicate_commands then pcall(redis.replicate_commands) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local EXPIRES_AT = ',"expiresAt":[-+.%deE]+}$'
`;

/**
 * The helpers of the general path (key type checks, quarantine, announcements). Write scripts
 * run a fast path first, with no closures and no TYPE calls: plain commands through
 * \`redis.pcall\`, where a wrong-typed key shows as an error reply. Only then (a key of the
 * wrong type, a renamed record, an expired one) do they fall through to this general path,
 * which re-does the whole operation with every check; the fast path's writes before the failure
 * are the same ones the general path makes, so the script stays atomic and its effect the same.
 */
const PRELUDE = `
local bad = {}
local function typeof(key) return redis.call('TYPE', key).ok end
-- True if key holds kind or nothing; a wrong-typed key is moved aside (and reported).
local function fix(key, kind)
  local t = typeof(key)
  if t == 'none' or t == kind then return true end
  local aside = key .. ':quarantined:' .. now
  redis.call('RENAME', key, aside)
  bad[#bad + 1] = key .. ' (' .. t .. ', moved to ' .. aside .. ')'
  return true
end
-- True if key holds kind; a wrong-typed key is reported and skipped (reads change nothing).
local function usable(key, kind)
  local t = typeof(key)
  if t == kind then return true end
  if t ~= 'none' then bad[#bad + 1] = key .. ' (' .. t .. ', skipped)' end
  return false
end
local function done(result) return {result, bad} end
local function announce(kind, json)
  redis.call('PUBLISH', ARGV[1], '{"type":"' .. kind .. '","record":' .. json .. '}')
end
-- Rewrites the expiresAt that ends a record's JSON.
local function stamp(json, expires)
  local out, n = string.gsub(json, EXPIRES_AT, ',"expiresAt":' .. expires .. '}', 1)
  return out, n
end
local function unlink(id, hex)
  local key = ARGV[2] .. hex
  fix(key, 'hash')
  local json = redis.call('HGET', key, id)
  redis.call('HDEL', key, id)
  if redis.call('EXISTS', key) == 0 then redis.call('SREM', KEYS[3], hex) end
  return json
end
local function drop(id, kind)
  redis.call('ZREM', KEYS[2], id)
  local hex = redis.call('HGET', KEYS[1], id)
  if not hex then return 0 end
  redis.call('HDEL', KEYS[1], id)
  local json = unlink(id, hex)
  if json and pcall(cjson.decode, json) then announce(kind, json) end
  return 1
end
local function fixIndexes()
  fix(KEYS[1], 'hash')
  fix(KEYS[2], 'zset')
  fix(KEYS[3], 'set')
end
`;

/** A script as ioredis `defineCommand` takes it. */
export interface ScriptDefinition {
  numberOfKeys: number;
  lua: string;
}

/**
 * Upserts a record living ARGV[6] ms from now (server time). ARGV: id, hex name, the
 * record's JSON without `expiresAt` and its closing brace (both appended here), ttl. Announces `join` (new) or `update`. Result: the
 * stored expiresAt.
 */
const put: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `${CLOCK}
local id, hex = ARGV[3], ARGV[4]
local expires = now + tonumber(ARGV[6])
local json = ARGV[5] .. ',"expiresAt":' .. expires .. '}'
-- Fast path: 6 commands for a new instance, 7 for an update of one under the same name.
-- HSETNX claims the id (and says whether it is new); an error reply (a wrong-typed key) falls
-- through to the general path, which is told whether the id was new.
local joined = false
local known = false
local claimed = redis.pcall('HSETNX', KEYS[1], id, hex)
if claimed == 1 then joined = true elseif claimed == 0 then known = redis.pcall('HGET', KEYS[1], id) end
if (joined or known == hex)
  and type(redis.pcall('HSET', KEYS[4], id, json)) ~= 'table'
  and type(redis.pcall('ZADD', KEYS[2], expires, id)) ~= 'table'
  and type(redis.pcall('SADD', KEYS[3], hex)) ~= 'table' then
  redis.call('PUBLISH', ARGV[1], '{"type":"' .. (joined and 'join' or 'update') .. '","record":' .. json .. '}')
  return {expires, {}}
end
${PRELUDE}
fixIndexes()
fix(KEYS[4], 'hash')
local old = redis.call('HGET', KEYS[1], id)
if joined then old = false end -- claimed by the fast path just now: a join
if old and old ~= hex then unlink(id, old) end
redis.call('HSET', KEYS[1], id, hex)
redis.call('HSET', KEYS[4], id, json)
redis.call('ZADD', KEYS[2], expires, id)
redis.call('SADD', KEYS[3], hex)
if old then announce('update', json) else announce('join', json) end
return done(expires)
`,
};

/**
 * Extends a record's life to ARGV[4] ms from now (server time): its expiry score and the
 * `expiresAt` at the end of its JSON. ARGV: id, ttl. Result: 1, or 0 if the record is gone; a
 * record found already expired is removed and announced as `timeout` (as a sweep would), then 0.
 */
const touch: ScriptDefinition = {
  numberOfKeys: 3,
  lua: `${CLOCK}
local id = ARGV[3]
-- Fast path: 6 commands, for a live record in keys of the right types.
local score = redis.pcall('ZSCORE', KEYS[2], id)
local known = redis.pcall('HGET', KEYS[1], id)
if type(score) ~= 'table' and type(known) ~= 'table' then
  if not known or not score then return {0, {}} end
  if tonumber(score) > now then
    local key = ARGV[2] .. known
    local json = redis.pcall('HGET', key, id)
    if type(json) ~= 'table' then
      if not json then return {0, {}} end
      local expires = now + tonumber(ARGV[4])
      redis.call('ZADD', KEYS[2], expires, id)
      local renewed, n = string.gsub(json, EXPIRES_AT, ',"expiresAt":' .. expires .. '}', 1)
      if n == 1 then redis.call('HSET', key, id, renewed) end
      return {1, {}}
    end
  end
end
${PRELUDE}
fixIndexes()
local hex = redis.call('HGET', KEYS[1], id)
local score = redis.call('ZSCORE', KEYS[2], id)
if not hex or not score then return done(0) end
if tonumber(score) <= now then
  drop(id, 'timeout')
  return done(0)
end
local key = ARGV[2] .. hex
fix(key, 'hash')
local json = redis.call('HGET', key, id)
if not json then return done(0) end
local expires = now + tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], expires, id)
local renewed, n = stamp(json, expires)
if n == 1 then redis.call('HSET', key, id, renewed) end
return done(1)
`,
};

/** Deletes a record and announces `leave`. ARGV: id. Result: 1 if it existed. */
const remove: ScriptDefinition = {
  numberOfKeys: 3,
  lua: `${CLOCK}${PRELUDE}
fixIndexes()
return done(drop(ARGV[3], 'leave'))
`,
};

/**
 * Deletes up to ARGV[3] records expired by the server's clock and announces a `timeout` for
 * each. Result: how many expired ids it took (equal to the limit: call again).
 */
const sweep: ScriptDefinition = {
  numberOfKeys: 3,
  lua: `${CLOCK}${PRELUDE}
fixIndexes()
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do drop(id, 'timeout') end
return done(#ids)
`,
};

/**
 * The reads have a prelude of their own, lean: they run on every cold lookup, and the server's
 * time per call is most of a lookup's cost. No helper closures are made; a wrong-typed key
 * shows as a failed `redis.pcall` (reported, skipped) instead of a TYPE check per key.
 */
const READ_PRELUDE = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local bad = {}
local function skipped(key)
  bad[#bad + 1] = key .. ' (' .. redis.call('TYPE', key).ok .. ', skipped)'
end
`;

/** The live records of one name. KEYS: expiry sorted set, per-name hash. */
const fetchByName: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${READ_PRELUDE}
local out = {}
local flat = redis.pcall('HGETALL', KEYS[2])
if flat.err then skipped(KEYS[2]) return {out, bad} end
for i = 1, #flat, 2 do
  local score = redis.pcall('ZSCORE', KEYS[1], flat[i])
  if type(score) == 'table' then skipped(KEYS[1]) return {{}, bad} end
  if score and tonumber(score) > now then out[#out + 1] = flat[i + 1] end
end
return {out, bad}
`,
};

/**
 * Every live record of the namespace, read at one instant. KEYS: expiry, names. ARGV[1]:
 * per-name hash prefix. The live ids come from one range read of the expiry set, not one
 * ZSCORE per record.
 */
const fetchAll: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${READ_PRELUDE}
local out = {}
local ids = redis.pcall('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
if ids.err then skipped(KEYS[1]) return {out, bad} end
local live = {}
for _, id in ipairs(ids) do live[id] = true end
local hexes = redis.pcall('SMEMBERS', KEYS[2])
if hexes.err then skipped(KEYS[2]) return {out, bad} end
for _, hex in ipairs(hexes) do
  local key = ARGV[1] .. hex
  local flat = redis.pcall('HGETALL', key)
  if flat.err then
    skipped(key)
  else
    for i = 1, #flat, 2 do
      if live[flat[i]] then out[#out + 1] = flat[i + 1] end
    end
  end
end
return {out, bad}
`,
};

/** Every script, by the command name ioredis defines for it. */
export const SCRIPTS = {
  sidecarPut: put,
  sidecarTouch: touch,
  sidecarRemove: remove,
  sidecarSweep: sweep,
  sidecarFetchByName: fetchByName,
  sidecarFetchAll: fetchAll,
} as const;

type Arg = string | number;

/** What every script returns: its result and the wrong-typed keys it skipped or moved aside. */
export type ScriptReply<T> = [result: T, badKeys: string[]];

/** The commands `defineCommand` adds to a client, typed. */
export interface ScriptCommands {
  sidecarPut(
    ids: string,
    expiry: string,
    names: string,
    name: string,
    ...argv: Arg[]
  ): Promise<ScriptReply<number>>;
  sidecarTouch(ids: string, expiry: string, names: string, ...argv: Arg[]): Promise<ScriptReply<number>>;
  sidecarRemove(ids: string, expiry: string, names: string, ...argv: Arg[]): Promise<ScriptReply<number>>;
  sidecarSweep(ids: string, expiry: string, names: string, ...argv: Arg[]): Promise<ScriptReply<number>>;
  sidecarFetchByName(expiry: string, name: string): Promise<ScriptReply<string[]>>;
  sidecarFetchAll(expiry: string, names: string, namePrefix: string): Promise<ScriptReply<string[]>>;
}
