/**
 * The `jti`s one peer has used, each remembered until its token can no longer be accepted. Bounded: when it is
 * full of live entries a new token is refused (the caller reports a rate limit) rather than an entry being
 * forgotten early, which would open a window for a replay.
 */

/** The replay memory of one peer. */
export interface ReplayCache {
  /** Whether `jti` was seen and its token may still be accepted at `nowMs`. */
  seen(jti: string, nowMs: number): boolean;
  /** Whether one more entry fits at `nowMs` (expired entries are dropped to make room). */
  hasRoom(nowMs: number): boolean;
  /** Remembers `jti` until `untilMs`. Call only after {@link seen} is false and {@link hasRoom} is true. */
  add(jti: string, untilMs: number): void;
  /** Entries held now (live or not yet swept). */
  readonly size: number;
}

/** Creates a replay cache holding at most `maxEntries` entries. */
export function createReplayCache(maxEntries: number): ReplayCache {
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new TypeError("replay cache size must be a positive integer");
  // jti → until when it is remembered. Insertion order is roughly expiry order (one peer, one token lifetime).
  const entries = new Map<string, number>();
  // No entry expires before this time: a full sweep before then would find nothing to drop.
  let noExpiryBeforeMs = 0;

  const sweepHead = (nowMs: number) => {
    for (const [jti, until] of entries) {
      if (until > nowMs) break;
      entries.delete(jti);
    }
  };

  return {
    seen(jti, nowMs) {
      const until = entries.get(jti);
      return until !== undefined && until > nowMs;
    },
    hasRoom(nowMs) {
      sweepHead(nowMs);
      if (entries.size < maxEntries) return true;
      if (nowMs < noExpiryBeforeMs) return false;
      let earliest = Number.POSITIVE_INFINITY;
      for (const [jti, until] of entries) {
        if (until <= nowMs) entries.delete(jti);
        else if (until < earliest) earliest = until;
      }
      noExpiryBeforeMs = earliest;
      return entries.size < maxEntries;
    },
    add(jti, untilMs) {
      entries.set(jti, untilMs);
      if (untilMs < noExpiryBeforeMs) noExpiryBeforeMs = untilMs;
    },
    get size() {
      return entries.size;
    },
  };
}
