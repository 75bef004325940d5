/**
 * The one module that starts the servers every test suite needs, on 127.0.0.1 (or a lab bridge
 * address a test made): Redis standalone (ephemeral or append-only), Sentinel groups and
 * Clusters, and PostgreSQL (fresh initdb). Every server is killable and can be restarted with
 * its data or empty. The global setup, the package tests, the reliability tests and the
 * benchmarks all start servers through it.
 */
export * from './postgres.js';
export * from './process.js';
export * from './redis.js';
export * from './redis-groups.js';
