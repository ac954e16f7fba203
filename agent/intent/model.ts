/**
 * The validated intent: what the rest of the agent works with once a document (YAML, JSON or the
 * DeploymentIntent message) has passed validation. Quantities are exact integers; defaults are filled in.
 */

export const INTENT_API_VERSION = "camino.io/v1";
export const INTENT_KIND = "DeploymentIntent";

/** `udp` and `sctp` (PFCP, GTP-U, NGAP) cannot be meshed: such links get NetworkPolicy rules only. */
export type LinkProtocol = "http" | "http2" | "grpc" | "tcp" | "tls" | "udp" | "sctp";
export const LINK_PROTOCOLS: readonly LinkProtocol[] = ["http", "http2", "grpc", "tcp", "tls", "udp", "sctp"];

export type LoadBalancer = "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM" | "PASSTHROUGH";
export const LOAD_BALANCERS: readonly LoadBalancer[] = ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "PASSTHROUGH"];

export type HealPolicy = "none" | "replace";
export const HEAL_POLICIES: readonly HealPolicy[] = ["none", "replace"];

/** CPU in millicores and memory in bytes, with the text the user wrote. */
export interface ResourceAmounts {
  cpu?: { text: string; millis: number };
  memory?: { text: string; bytes: number };
}

export interface PackageResources extends ResourceAmounts {
  /** Limits; where absent, limits equal requests. */
  limits?: ResourceAmounts;
}

/** Where a package should run. */
export type PlacementRequest =
  | { kind: "auto" }
  | { kind: "edge"; edge: string }
  | { kind: "domain"; domain: string }
  | { kind: "selector"; selector: Readonly<Record<string, string>> };

export interface PackageIntent {
  name: string;
  /** Position in `spec.packages`, used to break ordering ties deterministically. */
  index: number;
  blueprint: string;
  blueprintRevision?: string;
  version?: string;
  replicas: number;
  resources: PackageResources;
  qos?: string;
  after: readonly string[];
  placement: PlacementRequest;
  /** Setter values, keys sorted. */
  config: Readonly<Record<string, string>>;
}

export interface LinkPolicyIntent {
  timeoutMs?: number;
  timeout?: string;
  retries?: number;
  loadBalancer?: LoadBalancer;
}

export interface LinkIntent {
  from: string;
  /** A package of the intent, or absent for an external endpoint. */
  to?: string;
  external?: { host: string; port: number };
  port: number;
  protocol: LinkProtocol;
  policy: LinkPolicyIntent;
}

export interface Intent {
  name: string;
  /** Absent: the domain's default applies. */
  timeoutMs?: number;
  timeout?: string;
  heal: HealPolicy;
  packages: readonly PackageIntent[];
  links: readonly LinkIntent[];
  /** Package names in deterministic topological order (by wave, then by position in the document). */
  order: readonly string[];
  /** Sets of packages deployable in parallel; `waves[0]` is deployment wave 1 (wave 0 is the chain's base objects). */
  waves: readonly (readonly string[])[];
}

/** Limits on what one intent may hold; every field has a default in {@link DEFAULT_INTENT_LIMITS}. */
export interface IntentLimits {
  /** Largest document, in bytes of its text (YAML/JSON) or its JSON form (gRPC). */
  maxBytes: number;
  maxPackages: number;
  maxLinks: number;
  /** Deepest nesting of objects and arrays. */
  maxDepth: number;
  maxConfigEntries: number;
  /** Longest config value, in characters. */
  maxValueLength: number;
  maxReplicas: number;
  /** Longest intent timeout, in milliseconds. */
  maxTimeoutMs: number;
}

export const DEFAULT_INTENT_LIMITS: Readonly<IntentLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxPackages: 500,
  maxLinks: 2000,
  maxDepth: 16,
  maxConfigEntries: 128,
  maxValueLength: 4096,
  maxReplicas: 1000,
  maxTimeoutMs: 24 * 3_600_000,
});
