// @peculiar/x509 uses tsyringe, which needs the reflect-metadata polyfill that core loads first.
import '@sidecar/core';
import { webcrypto } from 'node:crypto';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { DEFAULT_NAMESPACE } from '@sidecar/core/plugin-kit';
import { peerUri } from './identity.js';

/** A certificate and its private key, both PEM. */
export interface PemPair {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  cert: string;
  /** The private key, PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`). */
  key: string;
}

/** Options of `createDevCa`. */
export interface DevCaOptions {
  /** Common name of the CA. @default 'sidecar development CA' */
  commonName?: string;
  /** Validity in days from now. @default 3650 */
  days?: number;
}

/** Options of `issuePeerCertificate`. */
export interface PeerCertificateOptions {
  /** The peer name the certificate binds (`sidecar://<namespace>/<name>`). */
  name: string;
  /** The peer's registry namespace. @default 'default' */
  namespace?: string;
  /** Start of validity. @default one minute ago */
  notBefore?: Date;
  /** End of validity. @default notBefore + `days` */
  notAfter?: Date;
  /** Validity in days, when `notAfter` is not given. @default 365 */
  days?: number;
}

const DEFAULT_CA_NAME = 'sidecar development CA';
const DEFAULT_CA_DAYS = 3650;
const DEFAULT_PEER_DAYS = 365;
const DAY_MS = 86_400_000;
const CLOCK_SKEW_MS = 60_000;
const MAX_CN_LENGTH = 64;
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/**
 * Creates a self-signed development CA (ECDSA P-256) to sign peer certificates with.
 * Keep `key` secret: whoever holds it can mint a certificate for any peer name.
 *
 * @example
 * ```ts
 * const ca = await createDevCa();
 * const billing = await issuePeerCertificate(ca, { name: 'billing' });
 * tls({ ca: ca.cert, cert: billing.cert, key: billing.key });
 * ```
 */
export async function createDevCa(options: DevCaOptions = {}): Promise<PemPair> {
  const keys = await newKeys();
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const cert = await X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [options.commonName ?? DEFAULT_CA_NAME] }],
    keys,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.days ?? DEFAULT_CA_DAYS) * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new BasicConstraintsExtension(true, 0, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/**
 * Issues a certificate for one peer, signed by `ca`, usable both as a TLS server and as a TLS
 * client. Its subjectAltName holds the URI `sidecar://<namespace>/<name>` (see `peerUri`).
 */
export async function issuePeerCertificate(ca: PemPair, options: PeerCertificateOptions): Promise<PemPair> {
  const caCert = new X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    PemConverter.decodeFirst(ca.key),
    KEY_ALGORITHM,
    false,
    ['sign'],
  );
  const keys = await newKeys();
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const notBefore = options.notBefore ?? new Date(Date.now() - CLOCK_SKEW_MS);
  const notAfter =
    options.notAfter ?? new Date(notBefore.getTime() + (options.days ?? DEFAULT_PEER_DAYS) * DAY_MS);
  const cert = await X509CertificateGenerator.create({
    subject: [{ CN: [options.name.slice(0, MAX_CN_LENGTH)] }],
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
      new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
      new SubjectAlternativeNameExtension([
        { type: 'url', value: peerUri({ name: options.name, namespace }) },
      ]),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
      await AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}
