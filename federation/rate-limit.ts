/** A token bucket: `perSecond` calls on average, bursts of up to `burst`. One per peer. */

/** The rate a peer may call at. */
export interface RateLimit {
  /** Calls per second on average. */
  perSecond: number;
  /** Calls allowed at once after a quiet spell. */
  burst: number;
}

export interface TokenBucket {
  /** Takes one call's token at `nowMs`; false (and nothing taken) when the bucket is empty. */
  take(nowMs: number): boolean;
}

/** Creates a full bucket. @throws TypeError for a rate that is not positive. */
export function createTokenBucket(limit: RateLimit, nowMs: number): TokenBucket {
  if (!(limit.perSecond > 0) || !(limit.burst >= 1))
    throw new TypeError("rate limit needs perSecond > 0 and burst >= 1");
  let tokens = limit.burst;
  let lastMs = nowMs;
  return {
    take(now) {
      // A clock that steps back refills nothing.
      if (now > lastMs) {
        tokens = Math.min(limit.burst, tokens + ((now - lastMs) * limit.perSecond) / 1000);
        lastMs = now;
      }
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
