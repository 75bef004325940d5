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
 * with an id and method free of escapes). Only its `params` go through `JSON.parse` then (not
 * even they when they are plain strings and callback references): the envelope is read in
 * place. Any other text (other key order, escapes, whitespace) takes `JSON.parse` whole, so the
 * result is the same value either way; a text that is not JSON throws
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
  if (list.length > 1 && !INDEX_LIST.test(list)) return undefined;
  if (list.length === 1 && (list.charCodeAt(0) < 48 || list.charCodeAt(0) > 57)) return undefined;
  let params: unknown = plainParams(text, paramsStart, functionsAt);
  if (params === undefined) {
    try {
      params = JSON.parse(text.slice(paramsStart, functionsAt));
    } catch {
      return undefined; // e.g. a repeated key: JSON.parse of the whole text decides
    }
    if (!Array.isArray(params)) return undefined;
  }
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

const CALLBACK_REF = '{"name":"';

/**
 * The commonest params read without `JSON.parse`: `text[from, to)` when it is an array, without
 * whitespace, of strings with no escapes and of callback references `{"name":"..."}` (likewise
 * plain); undefined for anything else (then `JSON.parse` reads it).
 */
function plainParams(text: string, from: number, to: number): unknown[] | undefined {
  if (text.charCodeAt(from) !== 91 || text.charCodeAt(to - 1) !== 93) return undefined; // [ ]
  const params: unknown[] = [];
  let i = from + 1;
  if (i === to - 1) return params;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const end = plainStringEnd(text, i + 1);
      if (end < 0 || end >= to) return undefined;
      params.push(text.slice(i + 1, end));
      i = end + 1;
    } else if (c === 123 && text.startsWith(CALLBACK_REF, i)) {
      const start = i + CALLBACK_REF.length;
      const end = plainStringEnd(text, start);
      if (end < 0 || end + 1 >= to || text.charCodeAt(end + 1) !== 125) return undefined; // }
      params.push({ name: text.slice(start, end) });
      i = end + 2;
    } else return undefined;
    const next = text.charCodeAt(i);
    if (next === 93) return i === to - 1 ? params : undefined; // ]
    if (next !== 44) return undefined; // ,
    i++;
  }
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
