export { CertWatcher, DEFAULT_WATCH_INTERVAL } from './cert-watcher.js';
export { type Credentials, type LoadedCredentials, loadCredentials, type PemSource } from './credentials.js';
export { type DevCertFilesOptions, writeDevCertFiles } from './dev-cert-files.js';
export {
  createDevCa,
  type DevCaOptions,
  issuePeerCertificate,
  type PeerCertificateOptions,
  type PemPair,
} from './dev-certs.js';
export { CertificateError, PeerIdentityError, type TlsErrorCode } from './errors.js';
export { PEER_URI_SCHEME, parsePeerUri, peersNamedBy, peerUri } from './identity.js';
export { tls } from './plugin.js';
export { DEFAULT_SESSION_CACHE_SIZE } from './session-cache.js';
export {
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MIN_VERSION,
  type TlsOptions,
} from './tls-options.js';
export { TlsTransport } from './tls-transport.js';
