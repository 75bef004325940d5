import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { transportComplianceSuite } from '@sidecar/core/testing';
import { TlsTransport } from '@sidecar/transport-tls';
import { creds, makePki } from './fixtures.js';

const pki = makePki();

transportComplianceSuite('tls', {
  server: async () => {
    const { ca, server } = await pki;
    return new TlsTransport(creds(ca, server));
  },
  client: async () => {
    const { ca, client } = await pki;
    return new TlsTransport(creds(ca, client));
  },
  // The server's certificate names `server` in namespace `default`: the client checks exactly that.
  expect: { name: 'server', namespace: 'default' },
  rawConnect: (endpoint) =>
    new Promise<Duplex>((resolve, reject) => {
      const socket = connect({ host: endpoint.host, port: endpoint.port });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    }),
});
