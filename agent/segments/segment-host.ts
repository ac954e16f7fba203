/**
 * The peer's side of cross-domain segments (docs/federation.md, "Segments"): what this domain does when a
 * trusted origin calls ProposeSegment, RenewSegment, CommitSegment, AbortSegment, TerminateSegment,
 * GetSegment and WatchSegment.
 *
 * - **Propose**: the proposal is checked (names, packages, links), the ledger checks that every blueprint is
 *   exported and the origin stays within its quota, then the segment is planned with this domain's own rules
 *   as a deployment named after its namespace (`<intent>-<origin>`): placed on this domain's edges, hydrated,
 *   admitted and reserved. The answer is an offer: the addresses exposed through the edges' east-west gateways,
 *   the consumers' principals for links back to the origin, this domain's mesh root fingerprint and the lease.
 *   The reservation holds until the lease ends, unless renewed; then it is released by this side alone.
 * - **Commit** (fenced by id and generation) turns the plan, pinned to the edges it reserved, into a deployment
 *   of this domain, journalled before the answer; its progress streams over WatchSegment.
 * - **Terminate** terminates that deployment; **abort** releases a reservation.
 *
 * Reservations are not durable: one lost in a restart lapses, as its lease would, and the origin's commit is
 * then refused. Committed segments are deployments, and are read back from the journal at start. A committed
 * segment whose origin says it no longer has it is terminated (segment-reconciler.ts); one whose origin is
 * unreachable is kept and reported, never deleted silently.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ProposeSegmentRequest, ProposeSegmentResponse } from "../../gen/camino/v1/federation_pb.js";
import { ProposeSegmentResponseSchema } from "../../gen/camino/v1/federation_pb.js";
import { type SegmentStatus, SegmentStatusSchema } from "../../gen/camino/v1/types_pb.js";
import { SegmentLedger, type LedgerSegment, type SegmentQuota } from "../../federation/segment-ledger.js";
import type { PeerDirectory } from "../../federation/peers.js";
import type { SegmentHost } from "../../federation/segments.js";
import { millisOf, unitsOf } from "../../common/quantity.js";
import { pause } from "../../common/pause.js";
import type { Catalogue } from "../cad/catalogue.js";
import { CaminoError } from "../errors.js";
import type { Intent } from "../intent/model.js";
import { validateIntent } from "../intent/validate.js";
import { intentToMessage } from "../intent/load.js";
import { toJson } from "@bufbuild/protobuf";
import { DeploymentIntentSchema } from "../../gen/camino/v1/intent_pb.js";
import type { Logger } from "../log/logger.js";
import { fingerprintOf } from "../network/mesh-trust.js";
import type { DeploymentManager } from "../orchestration/deployment-manager.js";
import type { DeploymentRecord, HostedSegmentRecord } from "../orchestration/journal.js";
import { stateToProto } from "../rpc/convert.js";
import type { Failpoints } from "../failpoints.js";
import { hostedSegment, invalid, pinnedDocument, problemsOf, segmentIntent } from "./segment-intent.js";

/** What the segment host is built from. */
export interface SegmentHostOptions {
  domainId: string;
  deployments: DeploymentManager;
  catalogue: Pick<Catalogue, "list">;
  peers: PeerDirectory;
  /** This domain's mesh root (PEM), whose fingerprint every offer carries; "" when none is configured. */
  meshRoot(): Promise<string>;
  /** How long a reservation holds without renewal. */
  leaseMs: number;
  quotaOf(origin: string): SegmentQuota | undefined;
  failpoints: Failpoints;
  logger: Logger;
  now?: () => Date;
}

/** A reservation waiting for its commit: the plan pinned to the edges it reserved, and the answer given. */
interface Pending {
  namespace: string;
  intent: Intent;
  hosted: HostedSegmentRecord;
  response: ProposeSegmentResponse;
}

const key = (origin: string, id: string) => `${origin}\u0000${id}`;

/** The namespace (and deployment name) a segment runs under here: `<origin intent>-<origin>`. */
export function segmentNamespace(intent: string, origin: string): string {
  return `${intent}-${origin}`;
}

export class CaminoSegmentHost implements SegmentHost {
  readonly #o: SegmentHostOptions;
  readonly #ledger: SegmentLedger;
  readonly #pending = new Map<string, Pending>();
  /** What the reconciler last learnt from each segment's origin (shown by ListSegments). */
  readonly #originWord = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #exported: Set<string> = new Set();

  constructor(options: SegmentHostOptions) {
    this.#o = options;
    this.#ledger = new SegmentLedger({
      leaseMs: options.leaseMs,
      quotaOf: options.quotaOf,
      exported: (b) => this.#exported.has(b),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** Reads the committed segments back from the deployments, and starts releasing lapsed reservations. */
  start(signal: AbortSignal): void {
    for (const r of this.#o.deployments.records()) {
      const s = r.segment;
      if (!s || r.state === "TERMINATED") continue;
      this.#ledger.restore({
        origin: s.origin,
        segmentId: s.id,
        intent: s.hostIntent,
        generation: s.generation,
        packages: r.packages.map((p) => ({ name: p.package, blueprint: "", cpuMillis: 0, memoryBytes: 0 })),
      });
    }
    this.#timer = setInterval(() => this.expire(), Math.max(100, Math.min(1000, this.#o.leaseMs / 4)));
    this.#timer.unref?.();
    signal.addEventListener("abort", () => clearInterval(this.#timer), { once: true });
  }

  /** Releases the reservations whose lease has ended. */
  expire(): void {
    for (const s of this.#ledger.expire()) {
      const p = this.#pending.get(key(s.origin, s.segmentId));
      this.#pending.delete(key(s.origin, s.segmentId));
      if (p && s.committedGeneration === undefined) this.#o.deployments.release(p.namespace);
      this.#o.logger.info("segment reservation lapsed", { origin: s.origin, segment: s.segmentId });
    }
  }

  /** Notes what the origin said of a segment (the reconciler). */
  noteOrigin(origin: string, id: string, word: string): void {
    this.#originWord.set(key(origin, id), word);
  }

  async propose(origin: string, req: ProposeSegmentRequest, signal: AbortSignal): Promise<ProposeSegmentResponse> {
    const generation = Number(req.generation);
    problemsOf(req, origin);
    const namespace = segmentNamespace(req.intent, origin);
    if (namespace.length > 63)
      throw invalid("intent", `the segment's namespace ${namespace} would be longer than 63 characters`);
    const existing = this.#o.deployments.live(namespace)?.record;
    if (existing && existing.state !== "TERMINATED" && existing.segment?.id !== req.segmentId)
      throw new CaminoError(
        "ERR_SEGMENT_CONFLICT",
        existing.segment
          ? `namespace ${namespace} is already segment ${existing.segment.id} of ${existing.segment.origin}`
          : `namespace ${namespace} is already an intent of ${this.#o.domainId}: the segment cannot run beside it`,
      );
    this.#exported = new Set((await this.#o.catalogue.list({ exportedOnly: true })).map((e) => e.name));
    const k = key(origin, req.segmentId);
    const { reserved } = this.#ledger.propose({
      origin,
      segmentId: req.segmentId,
      intent: req.intent,
      generation,
      packages: req.packages.map((p) => ({
        name: p.name,
        blueprint: p.blueprint,
        cpuMillis: (p.cpu ? millisOf(p.cpu) : 0) * p.replicas,
        memoryBytes: (p.memory ? unitsOf(p.memory) : 0) * p.replicas,
      })),
    });
    const earlier = this.#pending.get(k);
    if (!reserved && earlier) return earlier.response;
    if (!reserved) {
      // A repeat of a proposal already committed: it names the segment, which runs (GetSegment tells how).
      return create(ProposeSegmentResponseSchema, {
        segmentId: req.segmentId,
        generation: req.generation,
        namespace,
        meshRootFingerprint: await this.#fingerprint(),
      });
    }
    try {
      const intent = segmentIntent(req, origin, namespace);
      const hosted = hostedSegment(req, origin, this.#o.peers);
      await this.#o.failpoints.hit("segment-propose", signal);
      const plan = await this.#o.deployments.planSegment(intent, hosted, signal);
      if (!plan.admitted) {
        this.#o.deployments.release(namespace);
        throw new CaminoError(
          "ERR_SEGMENT_NO_ROOM",
          `${this.#o.domainId} cannot run segment ${req.segmentId}: ${plan.admission
            .map((a) => `${a.package}${a.edge ? `@${a.edge}` : ""} [${a.check}] ${a.message}`)
            .join("; ")}`,
        );
      }
      // Pinned to the edges reserved now, so the addresses offered are the ones the deployment will have.
      const pinned = validateIntent(
        pinnedDocument(intent, new Map(plan.packages.map((p) => [p.package, p.edge ?? ""]))),
      );
      const lease = this.#ledger.get(origin, req.segmentId)?.leaseExpiresAt ?? new Date();
      const response = create(ProposeSegmentResponseSchema, {
        segmentId: req.segmentId,
        generation: req.generation,
        namespace,
        reservationExpiresAt: timestampFromDate(lease),
        meshRootFingerprint: await this.#fingerprint(),
        offeredAddresses: plan.network.links.flatMap((l) => (l.offered ? [l.offered] : [])),
        consumerLinks: plan.network.links.flatMap((l) =>
          l.consumerPrincipal
            ? [
                {
                  from: l.from,
                  to: l.to,
                  port: l.port,
                  protocol: l.protocol,
                  consumerPrincipal: l.consumerPrincipal,
                  policyRetries: -1,
                },
              ]
            : [],
        ),
      });
      this.#pending.set(k, { namespace, intent: pinned, hosted, response });
      return response;
    } catch (err) {
      this.#ledger.abort(origin, req.segmentId, generation);
      throw err;
    }
  }

  renew(origin: string, segmentId: string, generation: number): Date {
    return this.#ledger.renew(origin, segmentId, generation);
  }

  async commit(origin: string, segmentId: string, generation: number, signal: AbortSignal): Promise<SegmentStatus> {
    const { repeated } = this.#ledger.commit(origin, segmentId, generation);
    if (repeated) return this.get(origin, segmentId);
    const k = key(origin, segmentId);
    const p = this.#pending.get(k);
    if (!p) {
      this.#ledger.terminate(origin, segmentId);
      throw new CaminoError("ERR_SEGMENT_NOT_FOUND", `segment ${segmentId} has no reservation here to commit`);
    }
    await this.#o.failpoints.hit("segment-commit", signal);
    try {
      const json = toJson(DeploymentIntentSchema, intentToMessage(p.intent));
      // Journalled by the lifecycle before this returns: a restart finds the segment as a deployment.
      await this.#o.deployments.submit(p.intent, json, p.hosted);
    } catch (err) {
      this.#ledger.terminate(origin, segmentId);
      this.#o.deployments.release(p.namespace);
      throw err;
    } finally {
      this.#pending.delete(k);
    }
    this.#o.logger.info("segment committed", { origin, segment: segmentId, generation, namespace: p.namespace });
    return this.get(origin, segmentId);
  }

  async abort(origin: string, segmentId: string, generation: number, reason: string): Promise<void> {
    const s = this.#ledger.abort(origin, segmentId, generation);
    const p = this.#pending.get(key(origin, segmentId));
    this.#pending.delete(key(origin, segmentId));
    if (p && s?.committedGeneration === undefined) this.#o.deployments.release(p.namespace);
    if (s) this.#o.logger.info("segment aborted by its origin", { origin, segment: segmentId, reason });
  }

  async terminate(origin: string, segmentId: string): Promise<SegmentStatus> {
    const s = this.#ledger.terminate(origin, segmentId);
    const p = this.#pending.get(key(origin, segmentId));
    this.#pending.delete(key(origin, segmentId));
    const namespace = segmentNamespace(s.intent, origin);
    if (p) this.#o.deployments.release(p.namespace);
    const live = this.#o.deployments.live(namespace);
    // A termination already under way (the reconciler's, or an earlier call's) is this one: a repeat is no error.
    if (live && !live.terminating && live.record.state !== "TERMINATED" && live.record.state !== "TERMINATING")
      await this.#o.deployments.terminate(namespace, true);
    this.#o.logger.info("segment terminated", { origin, segment: segmentId, namespace });
    return this.get(origin, segmentId);
  }

  get(origin: string, segmentId: string): SegmentStatus {
    const s = this.#ledger.get(origin, segmentId);
    if (s) return this.#status(s);
    // The caller may run a segment this domain placed: this domain's view of it, as its origin.
    const mine = this.#o.deployments
      .records()
      .flatMap((r) => (r.segments ?? []).map((x) => ({ r, x })))
      .find(({ x }) => x.id === segmentId && x.domain === origin);
    if (mine) return originStatus(this.#o.domainId, mine.r, mine.x);
    throw new CaminoError("ERR_SEGMENT_NOT_FOUND", `no segment ${segmentId} with ${origin}`);
  }

  async *watch(origin: string, segmentId: string, signal: AbortSignal): AsyncIterable<SegmentStatus> {
    let last = "";
    const s = this.#ledger.get(origin, segmentId);
    if (!s) throw new CaminoError("ERR_SEGMENT_NOT_FOUND", `no segment ${segmentId} from ${origin}`);
    const namespace = segmentNamespace(s.intent, origin);
    let wake: (() => void) | undefined;
    const stop = this.#o.deployments.events.subscribe(namespace, () => wake?.());
    try {
      while (!signal.aborted) {
        const status = this.get(origin, segmentId);
        const text = JSON.stringify(toJson(SegmentStatusSchema, status));
        if (text !== last) {
          last = text;
          yield status;
        }
        await pause(1000, signal, (done) => {
          wake = done;
        });
      }
    } finally {
      stop();
    }
  }

  /** Every segment this domain runs or holds for a peer, as ListSegments shows them. */
  list(): SegmentStatus[] {
    return this.#ledger
      .list()
      .filter((s) => s.state !== "TERMINATED" && s.state !== "ABORTED" && s.state !== "EXPIRED")
      .map((s) => this.#status(s));
  }

  /** The ledger's committed segments (the reconciler asks their origins about them). */
  committed(): LedgerSegment[] {
    return this.#ledger.list().filter((s) => s.committedGeneration !== undefined && s.state !== "TERMINATED");
  }

  /**
   * An operator ends a segment here (`camino segment rm ID`): a reservation is released; a committed segment
   * is terminated only with `force` (its origin has not said it ended).
   */
  async remove(segmentId: string, force: boolean): Promise<SegmentStatus> {
    const s = this.#ledger.list().find((x) => x.segmentId === segmentId && x.state !== "TERMINATED");
    if (!s) throw new CaminoError("ERR_SEGMENT_NOT_FOUND", `this domain runs no segment ${segmentId}`);
    if (s.state === "RESERVED" && s.committedGeneration === undefined) {
      await this.abort(s.origin, segmentId, s.generation, "removed by an operator");
      return this.#status({ ...s, state: "ABORTED" });
    }
    if (!force)
      throw new CaminoError(
        "ERR_SEGMENT_COMMITTED",
        `segment ${segmentId} is committed and its origin ${s.origin} has not ended it: add --force to end it anyway`,
      );
    this.#o.logger.warn("segment removed by an operator", { origin: s.origin, segment: segmentId });
    return this.terminate(s.origin, segmentId);
  }

  #status(s: LedgerSegment): SegmentStatus {
    const namespace = segmentNamespace(s.intent, s.origin);
    const live = this.#o.deployments.live(namespace)?.record;
    const deployed = live?.segment?.id === s.segmentId ? live : undefined;
    const word = this.#originWord.get(key(s.origin, s.segmentId));
    const state = deployed
      ? stateToProto(deployed.state)
      : stateToProto(s.state === "RESERVED" ? "ADMITTED" : s.state === "TERMINATED" ? "TERMINATED" : "ROLLED_BACK");
    const reason =
      (deployed?.reason ?? (s.state === "RESERVED" ? `reserved until ${s.leaseExpiresAt.toISOString()}` : s.state)) +
      (word ? ` (origin: ${word})` : "");
    return create(SegmentStatusSchema, {
      id: s.segmentId,
      domain: this.#o.domainId,
      packages: s.packages.map((p) => p.name),
      state,
      reason,
      generation: BigInt(deployed?.segment?.generation ?? s.generation),
      ...(s.state === "RESERVED" ? { leaseExpiresAt: timestampFromDate(s.leaseExpiresAt) } : {}),
      origin: s.origin,
      intent: s.intent,
      namespace,
      packageStates: (deployed?.packages ?? []).map((p) => ({
        package: p.package,
        state: stateToProto(p.state),
        reason: p.reason,
        edge: p.edge,
        domain: p.domain,
        wave: p.wave,
      })),
      role: "host",
      phase: s.state,
    });
  }

  async #fingerprint(): Promise<string> {
    const pem = await this.#o.meshRoot();
    return pem ? fingerprintOf(pem) : "";
  }
}

/** A segment as its origin sees it (GetSegment from the peer that runs it, and ListSegments here). */
export function originStatus(
  domainId: string,
  r: DeploymentRecord,
  x: NonNullable<DeploymentRecord["segments"]>[number],
): SegmentStatus {
  return create(SegmentStatusSchema, {
    id: x.id,
    domain: x.domain,
    packages: x.packages,
    state: x.state ? stateToProto(x.state) : stateToProto(r.state),
    reason: x.reason,
    generation: BigInt(x.generation),
    ...(x.leaseExpiresAt ? { leaseExpiresAt: timestampFromDate(new Date(x.leaseExpiresAt)) } : {}),
    origin: domainId,
    intent: r.intent,
    namespace: x.namespace,
    role: "origin",
    phase: x.phase.toUpperCase(),
    packageStates: r.packages
      .filter((p) => x.packages.includes(p.package))
      .map((p) => ({
        package: p.package,
        state: stateToProto(p.state),
        reason: p.reason,
        domain: p.domain,
        wave: p.wave,
      })),
  });
}
