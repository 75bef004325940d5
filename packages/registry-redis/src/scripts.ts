/**
 * The Lua scripts behind every mutation. Each runs atomically on the one slot of a namespace, so
 * a change and its announcement (PUBLISH) happen together, and of many sweepers exactly one
 * removes (and announces) each expired record. Reads need no script: a lookup is one HVALS.
 *
 * Conventions: KEYS[1] = ids hash, KEYS[2] = expiry sorted set, KEYS[3] = names set,
 * KEYS[4] = a per-name hash; ARGV[1] = event channel, ARGV[2] = per-name hash prefix, then the
 * script's own arguments.
 */

const PRELUDE = `
local function announce(kind, json)
  redis.call('PUBLISH', ARGV[1], '{"type":"' .. kind .. '","record":' .. json .. '}')
end
local function unlink(id, hex)
  local key = ARGV[2] .. hex
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
`;

/** A script as ioredis `defineCommand` takes it. */
export interface ScriptDefinition {
  numberOfKeys: number;
  lua: string;
}

/**
 * Upserts a record. ARGV: id, hex name, json (expiresAt last), expiresAt, onlyIfAbsent ('1': do
 * nothing if present). Announces `join` (new) or `update`. Returns 1 if written.
 */
const put: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `${PRELUDE}
local id, hex = ARGV[3], ARGV[4]
local old = redis.call('HGET', KEYS[1], id)
if old and ARGV[7] == '1' then return 0 end
if old and old ~= hex then unlink(id, old) end
redis.call('HSET', KEYS[1], id, hex)
redis.call('HSET', KEYS[4], id, ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[6], id)
redis.call('SADD', KEYS[3], hex)
if old then announce('update', ARGV[5]) else announce('join', ARGV[5]) end
return 1
`,
};

/**
 * Extends a record's life: its expiry score and the `expiresAt` at the end of its JSON.
 * ARGV: id, expiresAt, now. Returns 1, or 0 if the record is gone; a record found already
 * expired is removed and announced as `timeout` (as a sweep would), then 0.
 */
const touch: ScriptDefinition = {
  numberOfKeys: 3,
  lua: `${PRELUDE}
local id = ARGV[3]
local hex = redis.call('HGET', KEYS[1], id)
local score = redis.call('ZSCORE', KEYS[2], id)
if not hex or not score then return 0 end
if tonumber(score) <= tonumber(ARGV[5]) then
  drop(id, 'timeout')
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[4], id)
local key = ARGV[2] .. hex
local json = redis.call('HGET', key, id)
if not json then return 0 end
local renewed, n = string.gsub(json, ',"expiresAt":[-+.%deE]+}$', ',"expiresAt":' .. ARGV[4] .. '}', 1)
if n == 1 then redis.call('HSET', key, id, renewed) end
return 1
`,
};

/** Deletes a record and announces `leave`. ARGV: id. Returns 1 if it existed. */
const remove: ScriptDefinition = {
  numberOfKeys: 3,
  lua: `${PRELUDE}
return drop(ARGV[3], 'leave')
`,
};

/**
 * Deletes up to ARGV[4] records expired at ARGV[3] and announces a `timeout` for each.
 * Returns how many expired ids it took (equal to the limit: call again).
 */
const sweep: ScriptDefinition = {
  numberOfKeys: 3,
  lua: `${PRELUDE}
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ids) do drop(id, 'timeout') end
return #ids
`,
};

/** Every record of the namespace, read at one instant. ARGV[1]: per-name hash prefix. */
const fetchAll: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
local out = {}
for _, hex in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, json in ipairs(redis.call('HVALS', ARGV[1] .. hex)) do out[#out + 1] = json end
end
return out
`,
};

/** Every script, by the command name ioredis defines for it. */
export const SCRIPTS = {
  sidecarPut: put,
  sidecarTouch: touch,
  sidecarRemove: remove,
  sidecarSweep: sweep,
  sidecarFetchAll: fetchAll,
} as const;

type Arg = string | number;

/** The commands `defineCommand` adds to a client, typed. */
export interface ScriptCommands {
  sidecarPut(ids: string, expiry: string, names: string, name: string, ...argv: Arg[]): Promise<number>;
  sidecarTouch(ids: string, expiry: string, names: string, ...argv: Arg[]): Promise<number>;
  sidecarRemove(ids: string, expiry: string, names: string, ...argv: Arg[]): Promise<number>;
  sidecarSweep(ids: string, expiry: string, names: string, ...argv: Arg[]): Promise<number>;
  sidecarFetchAll(names: string, namePrefix: string): Promise<string[]>;
}
