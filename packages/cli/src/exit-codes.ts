/**
 * Exit codes of the `sidecar` command. Scripts can rely on them.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | any other failure (see the message) |
 * | 2 | bad usage: unknown command or option, invalid name or method URI, bad JSON argument, bad config |
 * | 3 | no such peer, or no instance of it could be reached |
 * | 4 | the registry could not be reached or refused the credentials |
 * | 5 | the remote method failed or does not exist (`call`) |
 * | 130 | interrupted (Ctrl-C) where the command does not treat that as its normal end |
 */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  PEER: 3,
  REGISTRY: 4,
  REMOTE: 5,
  INTERRUPTED: 130,
} as const;

const BY_CODE: Record<string, number> = {
  SIDECAR_ERR_INVALID_NAME: EXIT.USAGE,
  SIDECAR_ERR_INVALID_CONFIG: EXIT.USAGE,
  SIDECAR_ERR_PLUGIN_NOT_INSTALLED: EXIT.USAGE,
  SIDECAR_ERR_INVALID_METHOD_URI: EXIT.USAGE,
  SIDECAR_ERR_PEER_NOT_FOUND: EXIT.PEER,
  SIDECAR_ERR_PEER_UNREACHABLE: EXIT.PEER,
  SIDECAR_ERR_NO_COMMON_TRANSPORT: EXIT.PEER,
  SIDECAR_ERR_HELLO_REFUSED: EXIT.PEER,
  SIDECAR_ERR_DIAL_FAILED: EXIT.PEER,
  SIDECAR_ERR_DIAL_POLICY: EXIT.PEER,
  SIDECAR_ERR_REGISTRY_UNAVAILABLE: EXIT.REGISTRY,
  SIDECAR_ERR_REGISTRY_AUTH: EXIT.REGISTRY,
  SIDECAR_ERR_METHOD_NOT_FOUND: EXIT.REMOTE,
  SIDECAR_ERR_REMOTE: EXIT.REMOTE,
  SIDECAR_ERR_CALLBACK_DROPPED: EXIT.REMOTE,
};

/** The exit code for an error code (`SIDECAR_ERR_...`), or FAILURE. */
export function exitCodeOf(code: string | undefined): number {
  return (code ? BY_CODE[code] : undefined) ?? EXIT.FAILURE;
}
