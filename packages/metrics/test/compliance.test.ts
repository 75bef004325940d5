import { wrapperComplianceSuite } from '@sidecar/core/testing';
import { metrics } from '@sidecar/metrics';

/** The metrics wrapper passes every stream through unchanged: bytes in, the same bytes out. */
wrapperComplianceSuite('metrics plugin', { create: () => metrics({ port: false }) });
