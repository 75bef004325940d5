/**
 * Preloaded with `node --import` (through NODE_OPTIONS) into a peer process whose clock must be
 * off by SIDECAR_TEST_CLOCK_SKEW_MS (e.g. -60000: a host a minute behind). It shifts what
 * JavaScript reads as the wall clock in this one process: `Date.now()` and `new Date()`.
 * Monotonic time (timers, performance.now) is untouched, as on a host whose NTP is off.
 *
 * Chosen over libfaketime (LD_PRELOAD): no system package, nothing native, and it shifts exactly
 * the clock sidecar's code reads, never the clock of anything else in the process.
 */
const skew = Number(process.env.SIDECAR_TEST_CLOCK_SKEW_MS ?? 0);
if (Number.isFinite(skew) && skew !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + skew);
      else super(...args);
    }
    static now() {
      return realNow() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}
