import { wrapperComplianceSuite } from '@sidecar/core/testing';

/** The trivial wrapper: returns the stream it is given. */
wrapperComplianceSuite('pass-through', { create: () => (stream) => stream });

/** The same over the in-memory transport. */
wrapperComplianceSuite('pass-through over memory', { create: () => (stream) => stream, transport: 'memory' });
