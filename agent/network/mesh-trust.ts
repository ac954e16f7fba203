/**
 * Trust between meshes of different domains (docs/network.md, "Trust between domains"). AUTO_PASSTHROUGH carries
 * the sidecars' own mutual TLS through the gateways, so an edge with cross-domain links must trust the peer's
 * mesh root. Per (edge, peer) there is one trust record, kept in the edge's repository under
 * `_camino/trust/peers/<peer>.yaml` (local config: it never reaches the cluster), naming the intents that need
 * it; and one ConfigMap istiod reads (its `SHARED_MESH_CONFIG`), hydrated from the `mesh-trust` blueprint under
 * `_camino/trust/mesh-config/`, with a `caCertificates` entry `{pem, trustDomains: [<peer trust domain>]}` per
 * record. A record goes when its last intent does, so rolling back or terminating one chain never removes a
 * root another still uses.
 *
 * Istio merges every trusted root into one set: a peer's CA could mint any identity the edge accepts. Limiting
 * each entry to the peer's trust domain and naming exact principals in every AuthorizationPolicy is what bounds
 * it (README, security). Multi-root trust is an install-time setting of the edge, read and reported here
 * ({@link trustInstallProblems}), never written.
 */
import { X509Certificate } from "node:crypto";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { ValidationError } from "../errors.js";
import type { EdgeMesh } from "../edge/mesh-install.js";
import { plainYaml } from "../cad/plain-yaml.js";
import type { NetworkUnit } from "./link-units.js";
import { hydrateUnits } from "./network-hydrator.js";
import type { NetworkManagerOptions } from "./network-manager.js";
import { SegmentOfferError } from "./cross-domain.js";

/** The folder of an edge's repository that holds its trust, outside every intent's folder. */
export const TRUST_DIR = "_camino/trust";
/** The ConfigMap CAMINO owns for the peer roots; an edge's istiod must name it in `SHARED_MESH_CONFIG`. */
export const TRUST_CONFIGMAP = "camino-mesh-trust";

/** A peer's mesh root as Hello gives it. */
export interface PeerRoot {
  /** The peer domain's id. */
  peer: string;
  trustDomain: string;
  /** PEM of the root certificate. */
  pem: string;
  /** The fingerprint the offer carried (ProposeSegmentResponse.mesh_root_fingerprint), checked against the PEM. */
  fingerprint?: string;
}

/** One (edge, peer) trust record. */
export interface TrustRecord {
  peer: string;
  trustDomain: string;
  pem: string;
  /** SHA-256 of the certificate (DER), lower-case hex. */
  fingerprint: string;
  /** The intents whose links need it, sorted. */
  users: string[];
}

/** SHA-256 (hex) of a PEM certificate's DER. @throws SegmentOfferError when the text is not a certificate */
export function fingerprintOf(pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint256.replaceAll(":", "").toLowerCase();
  } catch (err) {
    throw new SegmentOfferError([
      { path: "meshRootCertificate", message: `is not a PEM certificate (${(err as Error).message})` },
    ]);
  }
}

/**
 * The records after an intent starts using a peer's root.
 * @throws SegmentOfferError when the PEM is no certificate, the offer's fingerprint is not the PEM's, or the
 *   peer's root differs from the one already trusted (a rotation is not handled: trust never changes silently)
 */
export function addTrust(records: readonly TrustRecord[], root: PeerRoot, intent: string): TrustRecord[] {
  const fingerprint = fingerprintOf(root.pem);
  if (root.fingerprint !== undefined && root.fingerprint.replaceAll(":", "").toLowerCase() !== fingerprint)
    throw new SegmentOfferError([
      {
        path: "meshRootFingerprint",
        message: `${root.fingerprint} is not the fingerprint of ${root.peer}'s root from Hello (${fingerprint})`,
      },
    ]);
  const out = records.map((r) => ({ ...r, users: [...r.users] }));
  const had = out.find((r) => r.peer === root.peer);
  if (had) {
    if (had.fingerprint !== fingerprint || had.trustDomain !== root.trustDomain)
      throw new SegmentOfferError([
        {
          path: "meshRootCertificate",
          message: `peer ${root.peer} offers root ${fingerprint} in trust domain ${root.trustDomain}, but this edge trusts ${had.fingerprint} in ${had.trustDomain} for ${had.users.join(", ")}`,
        },
      ]);
    if (!had.users.includes(intent)) had.users = [...had.users, intent].sort();
    return out;
  }
  out.push({ peer: root.peer, trustDomain: root.trustDomain, pem: root.pem, fingerprint, users: [intent] });
  return out.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
}

/** The records after an intent stops using every peer root (rolled back or terminated): unused records go. */
export function removeTrust(records: readonly TrustRecord[], intent: string): TrustRecord[] {
  return records.map((r) => ({ ...r, users: r.users.filter((u) => u !== intent) })).filter((r) => r.users.length > 0);
}

/** The mesh config text istiod merges: one caCertificates entry per record, limited to its trust domain. */
export function meshConfigOf(records: readonly TrustRecord[]): string {
  return stringifyYaml({
    caCertificates: records.map((r) => ({ pem: r.pem, trustDomains: [r.trustDomain] })),
  });
}

/** A trust record as its file holds it (a local-config object). */
function recordText(r: TrustRecord): string {
  return plainYaml({
    apiVersion: "camino.io/v1",
    kind: "MeshTrust",
    metadata: { name: r.peer, annotations: { "config.kubernetes.io/local-config": "true" } },
    spec: { peer: r.peer, trustDomain: r.trustDomain, fingerprint: r.fingerprint, users: r.users, pem: r.pem },
  });
}

/** The trust records among an edge repository's files (`_camino/trust/peers/*.yaml`). */
export function readTrustRecords(files: ReadonlyMap<string, string>): TrustRecord[] {
  const out: TrustRecord[] = [];
  for (const [path, text] of files) {
    if (!path.startsWith(`${TRUST_DIR}/peers/`) || !path.endsWith(".yaml")) continue;
    const o = parseYaml(text) as { spec?: Partial<TrustRecord> } | null;
    const s = o?.spec;
    if (!s?.peer || !s.trustDomain || !s.pem || !s.fingerprint || !Array.isArray(s.users))
      throw new ValidationError("ERR_SEGMENT_OFFER_INVALID", "trust record", [
        { path, message: "is not a MeshTrust record" },
      ]);
    out.push({ peer: s.peer, trustDomain: s.trustDomain, pem: s.pem, fingerprint: s.fingerprint, users: [...s.users] });
  }
  return out.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
}

/**
 * Every file of an edge's `_camino/trust/` for these records: one record file per peer and the ConfigMap
 * istiod reads, hydrated from the `mesh-trust` blueprint. No records: no files (the folder is removed).
 */
export async function trustFiles(
  edge: string,
  records: readonly TrustRecord[],
  input: { domain: string; repository: string },
  options: Pick<NetworkManagerOptions, "catalogue" | "hydration">,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  if (records.length === 0) return files;
  for (const r of records) files.set(`${TRUST_DIR}/peers/${r.peer}.yaml`, recordText(r));
  const unit: NetworkUnit = {
    edge,
    blueprint: "mesh-trust",
    folder: "mesh-config",
    link: "",
    setters: { "mesh-config": meshConfigOf(records) },
  };
  // The ConfigMap lives in istio-system and belongs to no intent: hydrated as the "camino" intent's, there.
  const hydrated = await hydrateUnits(
    [unit],
    { intent: "camino", revision: 1, domain: input.domain, repositories: new Map([[edge, input.repository]]) },
    options,
    signal,
    { namespace: "istio-system", base: TRUST_DIR },
  );
  for (const [path, text] of hydrated.files.get(edge) ?? []) files.set(path, text);
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** What an edge's install lacks for cross-domain trust, in words (empty when nothing). Read, never written. */
export function trustInstallProblems(mesh: EdgeMesh): string[] {
  const out: string[] = [];
  if (!mesh.multiRoot)
    out.push(`edge ${mesh.edge}: istiod does not set ISTIO_MULTIROOT_MESH=true, so it trusts one root only`);
  if (!mesh.xdsAgent)
    out.push(
      `edge ${mesh.edge}: the mesh's proxy metadata does not set PROXY_CONFIG_XDS_AGENT=true, so proxies do not take peer roots`,
    );
  if (mesh.sharedMeshConfig !== TRUST_CONFIGMAP)
    out.push(
      `edge ${mesh.edge}: istiod's SHARED_MESH_CONFIG is ${mesh.sharedMeshConfig ? JSON.stringify(mesh.sharedMeshConfig) : "not set"}, not ${TRUST_CONFIGMAP}, so it does not read the peer roots`,
    );
  return out;
}
