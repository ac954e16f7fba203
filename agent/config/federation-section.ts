/**
 * The `federation` section of the agent config: the peer listener (TLS), this domain's mesh facts, and the trust
 * list of peer domains. Absent: the agent does not federate (placement in other domains is refused).
 * The `peers` list is the part a running agent re-reads on SIGHUP.
 */
import { resolve } from "node:path";
import { joinPath, type Checker } from "../../common/checker.js";
import { httpUrlProblem } from "./http-url.js";
import { millisOf, unitsOf } from "../../common/quantity.js";

/** The federation methods a peer may call; the default for every peer is all of them. */
export const FEDERATION_METHODS = [
  "Hello",
  "GetKeys",
  "GetCatalogue",
  "ProposeSegment",
  "RenewSegment",
  "CommitSegment",
  "AbortSegment",
  "TerminateSegment",
  "GetSegment",
  "WatchSegment",
  "QueryMonitoring",
] as const;

/** One trusted peer domain. */
export interface ConfiguredPeer {
  id: string;
  /** Its federation endpoint, an https URL. */
  endpoint: string;
  /** Its public keys: exactly one of an inline JWKS, a JWKS file (absolute) or a JWKS URL (read once, at setup). */
  jwks?: { keys: unknown[] };
  jwksFile?: string;
  jwksUrl?: string;
  /** The CA that signs its TLS certificate (absolute path); its endpoint and JWKS URL are verified against it. */
  caFile: string;
  /** The federation methods it may call. Default all. Others answer PERMISSION_DENIED. */
  allow: string[];
  /** What segments it may hold here at once (reserved and committed). Absent: no limit. */
  quota?: { cpuMillis: number; memoryBytes: number; segments: number };
}

/** The `federation` section, parsed. */
export interface FederationConfig {
  /** The peer listener: TLS always. */
  listen: { host: string; port: number };
  tls: {
    certFile: string;
    keyFile: string;
    /** Set it to ask peers for client certificates (mTLS). */
    clientCaFile?: string;
    /** Refuse peers without a valid client certificate. Default false. */
    requireClientCert: boolean;
  };
  /** The client certificate this agent presents to peers (for peers that ask for mTLS). */
  clientTls?: { certFile: string; keyFile: string };
  /** The federation endpoint peers are told (an https URL). Default the bound listener's address. */
  endpoint?: string;
  /** The mesh this domain's edges belong to, and its trust domain (SPIFFE). Defaults: `<id>-mesh`, `<id>.camino`. */
  meshId: string;
  trustDomain: string;
  /** PEM file of the domain's mesh root certificate, sent to peers in Hello. Absent: none is sent. */
  meshRootCertFile?: string;
  /** How often peers are called (Hello, keys, catalogue when its digest changes), in seconds. Default 30. */
  refreshIntervalSeconds: number;
  /** How long a new signing key is announced before it signs. Default (and minimum) 3 × refreshIntervalSeconds. */
  keyOverlapSeconds: number;
  /** Leeway for clocks of peers, in seconds. Default 30. */
  clockToleranceSeconds: number;
  /** Bound of one call to a peer, in milliseconds. Default 5000. */
  callTimeoutMs: number;
  /** Calls per second each peer may make, and its burst. Defaults 200 and 400. */
  rateLimit: { perSecond: number; burst: number };
  /** How long a peer's segment reservation holds without renewal, in seconds. Default 30. */
  segmentLeaseSeconds: number;
  /** How often segments are reconciled with their peers and origins, in seconds. Default refreshIntervalSeconds. */
  segmentReconcileSeconds: number;
  peers: ConfiguredPeer[];
}

/** Defaults of the `federation` section. */
export const FEDERATION_DEFAULTS = {
  listen: { host: "127.0.0.1", port: 50052 },
  refreshIntervalSeconds: 30,
  clockToleranceSeconds: 30,
  callTimeoutMs: 5000,
  rateLimit: { perSecond: 200, burst: 400 },
} as const;

const DOMAIN_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const httpsUrlProblem = (v: string): string | undefined =>
  httpUrlProblem(v) ?? (v.startsWith("https://") ? undefined : "must be an https URL (peer calls use TLS)");

/** Checks the `peers` list alone (what SIGHUP re-reads). */
export function parsePeers(c: Checker, v: unknown, base: string, ownId: string): ConfiguredPeer[] {
  const seen = new Set<string>();
  return c.list(v, "federation.peers", 256).flatMap((raw, i) => {
    const path = `federation.peers[${i}]`;
    const o = c.object(raw, path, ["id", "endpoint", "jwks", "jwksFile", "jwksUrl", "caFile", "allow", "quota"]);
    if (!o) return [];
    const id = c.string(o["id"], joinPath(path, "id"), { required: true, max: 63 });
    if (id && !DOMAIN_ID.test(id)) c.add(joinPath(path, "id"), "must be a DNS label (lower case letters, digits, -)");
    if (id && id === ownId) c.add(joinPath(path, "id"), "is this domain's own id");
    if (id && seen.has(id)) c.add(joinPath(path, "id"), `${id} is listed twice`);
    if (id) seen.add(id);
    const endpoint = c.string(o["endpoint"], joinPath(path, "endpoint"), {
      required: true,
      max: 2048,
      check: httpsUrlProblem,
    });
    const jwksUrl = c.string(o["jwksUrl"], joinPath(path, "jwksUrl"), { max: 2048, check: httpsUrlProblem });
    const jwksFile = c.string(o["jwksFile"], joinPath(path, "jwksFile"), { max: 4096 });
    const caFile = c.string(o["caFile"], joinPath(path, "caFile"), { required: true, max: 4096 });
    const given = [o["jwks"], o["jwksFile"], o["jwksUrl"]].filter((x) => x !== undefined && x !== null).length;
    if (given !== 1) c.add(path, "give exactly one of jwks, jwksFile and jwksUrl");
    let jwks: { keys: unknown[] } | undefined;
    if (o["jwks"] !== undefined) {
      const keys = (o["jwks"] as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys) || keys.length === 0)
        c.add(joinPath(path, "jwks"), "must be a JWKS with a non-empty keys list");
      else jwks = { keys };
    }
    let allow: string[] = [...FEDERATION_METHODS];
    if (o["allow"] !== undefined) {
      allow = c.list(o["allow"], joinPath(path, "allow"), FEDERATION_METHODS.length).flatMap((m, j) => {
        const name = c.string(m, joinPath(path, "allow", j), { required: true, max: 64 });
        if (name && !(FEDERATION_METHODS as readonly string[]).includes(name)) {
          c.add(joinPath(path, "allow", j), `unknown method ${name} (one of ${FEDERATION_METHODS.join(", ")})`);
          return [];
        }
        return name ? [name] : [];
      });
    }
    const quota = parseQuota(c, o["quota"], joinPath(path, "quota"));
    if (!id || !endpoint || !caFile) return [];
    const peer: ConfiguredPeer = { id, endpoint, caFile: resolve(base, caFile), allow };
    if (quota) peer.quota = quota;
    if (jwks) peer.jwks = jwks;
    if (jwksFile) peer.jwksFile = resolve(base, jwksFile);
    if (jwksUrl) peer.jwksUrl = jwksUrl;
    return [peer];
  });
}

/** A peer's segment quota: `{cpu: "4", memory: "8Gi", segments: 10}`, every field required. */
function parseQuota(c: Checker, v: unknown, path: string): ConfiguredPeer["quota"] {
  if (v === undefined || v === null) return undefined;
  const o = c.object(v, path, ["cpu", "memory", "segments"]);
  if (!o) return undefined;
  const amount = (field: "cpu" | "memory", of: (q: string) => number) => {
    const text = c.string(typeof o[field] === "number" ? String(o[field]) : o[field], joinPath(path, field), {
      required: true,
      max: 32,
    });
    if (text === undefined) return undefined;
    try {
      return of(text);
    } catch (err) {
      c.add(joinPath(path, field), `${JSON.stringify(text)} is not a quantity (${(err as Error).message})`);
      return undefined;
    }
  };
  const cpuMillis = amount("cpu", millisOf);
  const memoryBytes = amount("memory", unitsOf);
  const segments = c.integer(o["segments"], joinPath(path, "segments"), 0, 100_000);
  if (o["segments"] === undefined) c.add(joinPath(path, "segments"), "is required");
  if (cpuMillis === undefined || memoryBytes === undefined || segments === undefined) return undefined;
  return { cpuMillis, memoryBytes, segments };
}

/**
 * Checks the `federation` section; problems are added to `c` with their paths. Undefined when absent.
 * @param base the folder relative paths are resolved against
 */
export function parseFederationSection(
  c: Checker,
  v: unknown,
  base: string,
  domainId: string,
): FederationConfig | undefined {
  if (v === undefined || v === null) return undefined;
  const f = c.object(v, "federation", [
    "listen",
    "tls",
    "clientTls",
    "endpoint",
    "meshId",
    "trustDomain",
    "meshRootCertFile",
    "refreshIntervalSeconds",
    "keyOverlapSeconds",
    "clockToleranceSeconds",
    "callTimeoutMs",
    "rateLimit",
    "segmentLeaseSeconds",
    "segmentReconcileSeconds",
    "peers",
  ]);
  if (!f) return undefined;
  const l = c.object(f["listen"], "federation.listen", ["host", "port"]) ?? {};
  const listen = {
    host: c.string(l["host"], "federation.listen.host", { max: 253 }) ?? FEDERATION_DEFAULTS.listen.host,
    port: c.integer(l["port"], "federation.listen.port", 0, 65535) ?? FEDERATION_DEFAULTS.listen.port,
  };
  const t = c.object(f["tls"], "federation.tls", ["certFile", "keyFile", "clientCaFile", "requireClientCert"]);
  if (!t) c.add("federation.tls", "is required: peer calls use TLS (certFile and keyFile)");
  const tt = t ?? {};
  const certFile = c.string(tt["certFile"], "federation.tls.certFile", { required: !!t, max: 4096 }) ?? "";
  const keyFile = c.string(tt["keyFile"], "federation.tls.keyFile", { required: !!t, max: 4096 }) ?? "";
  const clientCaFile = c.string(tt["clientCaFile"], "federation.tls.clientCaFile", { max: 4096 });
  const require = tt["requireClientCert"];
  if (require !== undefined && typeof require !== "boolean")
    c.add("federation.tls.requireClientCert", "must be true or false");
  if (require === true && !clientCaFile)
    c.add("federation.tls.requireClientCert", "needs federation.tls.clientCaFile to check client certificates against");
  const tls: FederationConfig["tls"] = {
    certFile: certFile && resolve(base, certFile),
    keyFile: keyFile && resolve(base, keyFile),
    requireClientCert: require === true,
  };
  if (clientCaFile) tls.clientCaFile = resolve(base, clientCaFile);

  const refresh =
    c.integer(f["refreshIntervalSeconds"], "federation.refreshIntervalSeconds", 1, 86_400) ??
    FEDERATION_DEFAULTS.refreshIntervalSeconds;
  const overlap = c.integer(f["keyOverlapSeconds"], "federation.keyOverlapSeconds", 1, 30 * 86_400) ?? 3 * refresh;
  if (overlap < 3 * refresh)
    c.add(
      "federation.keyOverlapSeconds",
      `must be at least 3 × refreshIntervalSeconds (${3 * refresh}), so every peer fetches a new key before it signs`,
    );
  const r = c.object(f["rateLimit"], "federation.rateLimit", ["perSecond", "burst"]) ?? {};
  const out: FederationConfig = {
    listen,
    tls,
    meshId: c.string(f["meshId"], "federation.meshId", { max: 253 }) ?? `${domainId}-mesh`,
    trustDomain: c.string(f["trustDomain"], "federation.trustDomain", { max: 253 }) ?? `${domainId}.camino`,
    refreshIntervalSeconds: refresh,
    keyOverlapSeconds: overlap,
    clockToleranceSeconds:
      c.integer(f["clockToleranceSeconds"], "federation.clockToleranceSeconds", 0, 600) ??
      FEDERATION_DEFAULTS.clockToleranceSeconds,
    callTimeoutMs:
      c.integer(f["callTimeoutMs"], "federation.callTimeoutMs", 100, 120_000) ?? FEDERATION_DEFAULTS.callTimeoutMs,
    rateLimit: {
      perSecond:
        c.integer(r["perSecond"], "federation.rateLimit.perSecond", 1, 100_000) ??
        FEDERATION_DEFAULTS.rateLimit.perSecond,
      burst: c.integer(r["burst"], "federation.rateLimit.burst", 1, 1_000_000) ?? FEDERATION_DEFAULTS.rateLimit.burst,
    },
    segmentLeaseSeconds: c.integer(f["segmentLeaseSeconds"], "federation.segmentLeaseSeconds", 1, 3600) ?? 30,
    segmentReconcileSeconds:
      c.integer(f["segmentReconcileSeconds"], "federation.segmentReconcileSeconds", 1, 86_400) ?? refresh,
    peers: parsePeers(c, f["peers"], base, domainId),
  };
  const endpoint = c.string(f["endpoint"], "federation.endpoint", { max: 2048, check: httpsUrlProblem });
  if (endpoint) out.endpoint = endpoint;
  const mesh = c.string(f["meshRootCertFile"], "federation.meshRootCertFile", { max: 4096 });
  if (mesh) out.meshRootCertFile = resolve(base, mesh);
  const ct = c.object(f["clientTls"], "federation.clientTls", ["certFile", "keyFile"]);
  if (ct) {
    const cf = c.string(ct["certFile"], "federation.clientTls.certFile", { required: true, max: 4096 });
    const kf = c.string(ct["keyFile"], "federation.clientTls.keyFile", { required: true, max: 4096 });
    if (cf && kf) out.clientTls = { certFile: resolve(base, cf), keyFile: resolve(base, kf) };
  }
  return out;
}
