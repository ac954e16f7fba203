/**
 * The origin's calls to the peers that run its segments ({@link SegmentBroker}), over the peer registry's
 * signed clients. Every unary call is bounded by the federation's call timeout and the caller's signal, so a
 * peer that is down or slow fails the call within that bound: it never hangs the origin's run. A failure says
 * which peer and which call, with the peer's own reason when it answered one.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { DomainInfo, SegmentStatus } from "../gen/camino/v1/types_pb.js";
import { CaminoError, findError } from "../common/errors.js";
import { pause } from "../common/pause.js";
import type { PeerRegistry } from "./peer-registry.js";
import type { PlacementVerdict, SegmentBroker } from "./segments.js";

export interface SegmentBrokerOptions {
  registry: PeerRegistry;
  callTimeoutMs: number;
  /** Whether packages may go to `domain` (this domain, a trusted and compatible peer). */
  canPlace(domain: string): PlacementVerdict;
  /** This domain as proposals carry it (the peer trusts what its own Hello said over this). */
  localInfo(): Promise<DomainInfo>;
}

/** A ConnectError from a peer, as the error the origin's run reports. */
function peerError(domain: string, call: string, err: unknown): Error {
  if (findError(err)) return err as Error;
  const c = err instanceof ConnectError ? err : undefined;
  const why = c ? c.rawMessage : err instanceof Error ? err.message : String(err);
  const code = c?.code;
  const data = { peer: domain, call };
  if (code === Code.FailedPrecondition)
    return new CaminoError(
      /lease/.test(why) ? "ERR_SEGMENT_LEASE_EXPIRED" : "ERR_SEGMENT_STALE_GENERATION",
      `${domain} ${call}: ${why}`,
      { data },
    );
  if (code === Code.PermissionDenied) return new CaminoError("ERR_PEER_DENIED", `${domain} ${call}: ${why}`, { data });
  if (code === Code.NotFound) return new CaminoError("ERR_SEGMENT_NOT_FOUND", `${domain} ${call}: ${why}`, { data });
  if (code === Code.ResourceExhausted)
    return new CaminoError("ERR_SEGMENT_REFUSED", `${domain} ${call}: ${why}`, { data });
  if (code === Code.InvalidArgument)
    return new CaminoError("ERR_SEGMENT_REFUSED", `${domain} ${call}: ${why}`, { data });
  return new CaminoError("ERR_PEER_UNREACHABLE", `${domain} ${call} failed: ${why}`, { data, cause: err });
}

export function createSegmentBroker(options: SegmentBrokerOptions): SegmentBroker {
  const { registry } = options;
  const clientOf = (domain: string) => {
    const client = registry.client(domain);
    if (!client) throw new CaminoError("ERR_PEER_NOT_FOUND", `peer ${domain} is not in the trust list`);
    return client;
  };
  const call = (signal: AbortSignal) => ({ signal, timeoutMs: options.callTimeoutMs });
  async function wrap<T>(domain: string, name: string, f: () => Promise<T>): Promise<T> {
    try {
      // Right after a start (a recovery's abort or termination), the peer's keys may not be read yet.
      await registry.keysRead(domain, AbortSignal.timeout(options.callTimeoutMs));
      return await f();
    } catch (err) {
      throw peerError(domain, name, err);
    }
  }
  return {
    canPlace: options.canPlace,
    peerInfo: (domain) => registry.get(domain)?.info,
    propose: (domain, proposal, signal) =>
      wrap(domain, "ProposeSegment", async () =>
        clientOf(domain).proposeSegment({ ...proposal, origin: await options.localInfo() }, call(signal)),
      ),
    renew: (domain, segmentId, generation, signal) =>
      wrap(domain, "RenewSegment", async () => {
        const r = await clientOf(domain).renewSegment({ segmentId, generation: BigInt(generation) }, call(signal));
        return r.reservationExpiresAt ? timestampDate(r.reservationExpiresAt) : new Date();
      }),
    commit: (domain, segmentId, generation, signal) =>
      wrap(domain, "CommitSegment", async () => {
        const r = await clientOf(domain).commitSegment({ segmentId, generation: BigInt(generation) }, call(signal));
        return r.segment as SegmentStatus;
      }),
    abort: (domain, segmentId, generation, reason, signal) =>
      wrap(domain, "AbortSegment", async () => {
        await clientOf(domain).abortSegment({ segmentId, reason, generation: BigInt(generation) }, call(signal));
      }),
    terminate: (domain, segmentId, signal) =>
      wrap(domain, "TerminateSegment", async () => {
        const r = await clientOf(domain).terminateSegment({ segmentId }, call(signal));
        return r.segment;
      }),
    get: (domain, segmentId, signal) =>
      wrap(domain, "GetSegment", async () => {
        const r = await clientOf(domain).getSegment({ segmentId }, call(signal));
        return r.segment as SegmentStatus;
      }),
    watch: (domain, segmentId, signal) => watchSegment(domain, segmentId, signal, clientOf),
  };
}

/**
 * Streams a segment's states. A stream ends when its token expires (the peer closes it) or the connection
 * drops; it is reopened, after a short pause when it failed, until `signal` aborts. A refusal (the segment is
 * unknown, the peer denies) is thrown.
 */
async function* watchSegment(
  domain: string,
  segmentId: string,
  signal: AbortSignal,
  clientOf: (d: string) => ReturnType<PeerRegistry["client"]> & object,
): AsyncIterable<SegmentStatus> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      for await (const r of clientOf(domain).watchSegment({ segmentId }, { signal })) {
        failures = 0;
        if (r.segment) yield r.segment;
      }
    } catch (err) {
      if (signal.aborted) return;
      const c = err instanceof ConnectError ? err : undefined;
      if (c && [Code.NotFound, Code.PermissionDenied, Code.InvalidArgument].includes(c.code))
        throw peerError(domain, "WatchSegment", err);
      failures++;
    }
    // Reopened at once after a clean end (an expired token), with a growing pause after failures.
    const wait = failures === 0 ? 0 : Math.min(2000, 100 * 2 ** Math.min(failures, 5));
    await pause(wait, signal);
  }
}
