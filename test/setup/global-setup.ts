/**
 * Vitest global setup: every test talks to 127.0.0.1 only (SIDECAR_HOST), and leaves no
 * registry files behind. Servers (Redis, PostgreSQL) are started here by the adapters' setups.
 */
export default function setup(): void {
  process.env.SIDECAR_HOST = '127.0.0.1';
}
