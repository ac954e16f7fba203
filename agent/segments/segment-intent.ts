/**
 * A proposal (camino.v1.ProposeSegmentRequest) as the peer plans it: checked, turned into an intent of this
 * domain named after the segment's namespace (its packages placed here, the origin's as the other ends of its
 * links), with the origin's side kept as the hosted segment's record, and pinned to the edges planning reserved.
 */
import { toJson } from "@bufbuild/protobuf";
import type { ProposeSegmentRequest } from "../../gen/camino/v1/federation_pb.js";
import { DeploymentIntentSchema } from "../../gen/camino/v1/intent_pb.js";
import type { PeerDirectory } from "../../federation/peers.js";
import { CaminoError, IntentError } from "../errors.js";
import { intentToMessage } from "../intent/load.js";
import type { Intent } from "../intent/model.js";
import { validateIntent } from "../intent/validate.js";
import type { HostedSegmentRecord } from "../orchestration/journal.js";

const SEGMENT_ID = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

/** The segment as an intent of this domain: its packages placed here, the origin's as the other ends. */
export function segmentIntent(req: ProposeSegmentRequest, origin: string, namespace: string): Intent {
  const mine = new Set(req.packages.map((p) => p.name));
  const others = new Set<string>();
  for (const l of req.links) for (const end of [l.from, l.to]) if (!mine.has(end)) others.add(end);
  const doc = {
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name: namespace },
    spec: {
      packages: [
        ...req.packages.map((p) => ({
          name: p.name,
          blueprint: p.blueprint,
          ...(p.blueprintRevision ? { blueprintRevision: p.blueprintRevision } : {}),
          ...(p.version ? { version: p.version } : {}),
          replicas: p.replicas,
          resources: {
            ...(p.cpu ? { cpu: p.cpu } : {}),
            ...(p.memory ? { memory: p.memory } : {}),
            ...(p.cpuLimit || p.memoryLimit
              ? {
                  limits: {
                    ...(p.cpuLimit ? { cpu: p.cpuLimit } : {}),
                    ...(p.memoryLimit ? { memory: p.memoryLimit } : {}),
                  },
                }
              : {}),
          },
          ...(p.qos ? { qos: p.qos } : {}),
          ...(p.after.length > 0 ? { after: p.after.filter((a) => mine.has(a)) } : {}),
          ...(p.config.length > 0 ? { config: Object.fromEntries(p.config.map((c) => [c.key, c.value])) } : {}),
        })),
        ...[...others].sort().map((name) => ({ name, blueprint: "origin", placement: { domain: origin } })),
      ],
      links: req.links.map((l) => ({
        from: l.from,
        to: l.to,
        port: l.port,
        protocol: l.protocol,
        ...(l.policyTimeout || l.policyRetries >= 0 || l.policyLoadBalancer
          ? {
              policy: {
                ...(l.policyTimeout ? { timeout: l.policyTimeout } : {}),
                ...(l.policyRetries >= 0 ? { retries: l.policyRetries } : {}),
                ...(l.policyLoadBalancer ? { loadBalancer: l.policyLoadBalancer } : {}),
              },
            }
          : {}),
      })),
    },
  };
  try {
    return validateIntent(doc);
  } catch (err) {
    if (err instanceof IntentError)
      throw new CaminoError(
        "ERR_SEGMENT_INVALID",
        `the proposal is not a valid segment: ${err.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      );
    throw err;
  }
}

export function hostedSegment(req: ProposeSegmentRequest, origin: string, peers: PeerDirectory): HostedSegmentRecord {
  const info = peers.get(origin)?.info;
  const mine = new Set(req.packages.map((p) => p.name));
  return {
    origin,
    id: req.segmentId,
    generation: Number(req.generation),
    hostIntent: req.intent,
    remote: {
      domain: origin,
      // What Hello said of the origin is trusted over what the proposal repeats.
      trustDomain: info?.trustDomain || req.origin?.trustDomain || "",
      meshRoot: info?.meshRootCertificate || req.origin?.meshRootCertificate || "",
      addresses: req.originAddresses.map((a) => ({
        package: a.package,
        host: a.host,
        port: a.port,
        gatewayAddress: a.gatewayAddress,
        gatewayPort: a.gatewayPort,
        network: a.network,
        protocol: a.protocol,
        spiffeIdentity: a.spiffeIdentity,
      })),
      consumers: req.links
        .filter((l) => !mine.has(l.from))
        .map((l) => ({ from: l.from, to: l.to, port: l.port, principal: l.consumerPrincipal })),
    },
  };
}

export function invalid(path: string, message: string): CaminoError {
  return new CaminoError("ERR_SEGMENT_INVALID", `${path}: ${message}`, { data: { field: path } });
}

/** Checks what the lifecycle's own validation does not: the segment's id, generation and packages. */
export function problemsOf(req: ProposeSegmentRequest, origin: string): void {
  if (!SEGMENT_ID.test(req.segmentId))
    throw invalid("segmentId", `${JSON.stringify(req.segmentId)} is not a segment id`);
  if (!req.segmentId.startsWith(`${origin}.`))
    throw invalid("segmentId", `${req.segmentId} does not start with the origin's domain ${origin}`);
  if (req.generation < 1n) throw invalid("generation", "must be 1 or more");
  if (req.packages.length === 0) throw invalid("packages", "a segment has at least one package");
  const names = new Set(req.packages.map((p) => p.name));
  for (const [i, l] of req.links.entries()) {
    if (!names.has(l.from) && !names.has(l.to))
      throw invalid(`links[${i}]`, `${l.from} → ${l.to} touches no package of the segment`);
    if (!names.has(l.from) && !l.consumerPrincipal)
      throw invalid(`links[${i}].consumerPrincipal`, `the origin's consumer ${l.from} needs its exact principal`);
  }
}

/** The intent's document with every local package placed on the edge planning reserved for it. */
export function pinnedDocument(intent: Intent, edges: ReadonlyMap<string, string>) {
  const doc = toJson(DeploymentIntentSchema, intentToMessage(intent)) as {
    spec: { packages: { name: string; placement?: Record<string, unknown> }[] };
  };
  for (const p of doc.spec.packages) {
    const edge = edges.get(p.name);
    if (edge) p.placement = { edge };
  }
  return doc;
}
