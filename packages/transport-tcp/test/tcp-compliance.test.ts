import { connect } from 'node:net';
import { transportComplianceSuite } from '@sidecar/core/testing';
import { TcpTransport } from '@sidecar/transport-tcp';

transportComplianceSuite('tcp', {
  server: () => new TcpTransport({ host: '127.0.0.1' }),
  client: () => new TcpTransport(),
  rawConnect: (endpoint) =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: endpoint.host, port: endpoint.port }, () => resolve(socket));
      socket.once('error', reject);
    }),
});
