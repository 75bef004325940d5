/** The start of every call message this side (and the original) sends. */
const CALL_PREFIX = '{"type":"call","id":"';
const METHOD_KEY = '","method":"';
const PARAMS_KEY = '","params":';
const FUNCTIONS_KEY = ',"functions":[';
/** The `functions` of every call without callbacks (most replies): one frozen array, shared. */
const NO_FUNCTIONS: readonly number[] = Object.freeze([]);
/** A `functions` list: JSON integers without leading zeros, comma-separated. */
const INDEX_LIST = /^(0|[1-9]\d{0,8})(,(0|[1-9]\d{0,8}))*$/;

/**
 * Parses one frame's JSON text as `JSON.parse` does, faster for the commonest message: a call
 * laid out as pillion writes it (`{"type":"call","id":..,"method":..,"params":[..],"functions":[..]}`,
 * with an id and method free of escapes). Only its `params` go through `JSON.parse` then: the
 * envelope is read in place. Any other text (other key order, escapes, whitespace) takes
 * `JSON.parse` whole, so the result is the same value either way; a text that is not JSON throws
 * the SyntaxError `JSON.parse` throws. An empty `functions` array is frozen and shared: read it,
 * do not change it.
 *
 * @example
 * ```ts
 * parseMessage('{"type":"call","id":"1","method":"m","params":[1],"functions":[]}');
 * ```
 */
export function parseMessage(text: string): unknown {
  return (text.startsWith(CALL_PREFIX) && parseCall(text)) || JSON.parse(text);
}

function parseCall(text: string): object | undefined {
  const idStart = CALL_PREFIX.length;
  const idEnd = plainStringEnd(text, idStart);
  if (idEnd < 0 || !text.startsWith(METHOD_KEY, idEnd)) return undefined;
  const methodStart = idEnd + METHOD_KEY.length;
  const methodEnd = plainStringEnd(text, methodStart);
  if (methodEnd < 0 || !text.startsWith(PARAMS_KEY, methodEnd)) return undefined;
  const paramsStart = methodEnd + PARAMS_KEY.length;
  const last = text.length - 1;
  if (text.charCodeAt(last) !== 125 || text.charCodeAt(last - 1) !== 93) return undefined; // ]}
  const functionsAt = text.lastIndexOf(FUNCTIONS_KEY);
  if (functionsAt <= paramsStart) return undefined;
  const list = text.slice(functionsAt + FUNCTIONS_KEY.length, last - 1);
  if (list !== '' && !INDEX_LIST.test(list)) return undefined;
  let params: unknown;
  try {
    params = JSON.parse(text.slice(paramsStart, functionsAt));
  } catch {
    return undefined; // e.g. a repeated key: JSON.parse of the whole text decides
  }
  if (!Array.isArray(params)) return undefined;
  return {
    type: 'call',
    id: text.slice(idStart, idEnd),
    method: text.slice(methodStart, methodEnd),
    params,
    functions:
      list === ''
        ? NO_FUNCTIONS
        : list.length === 1
          ? [list.charCodeAt(0) - 48]
          : list.split(',').map(Number),
  };
}

/** Where a JSON string starting at `from` ends (its closing quote), or -1 if it holds an escape or a control character. */
function plainStringEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return i;
    if (c === 92 || c < 32) return -1;
  }
  return -1;
}
