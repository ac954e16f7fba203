/**
 * What the workload controllers share: the types they watch, labels and annotations they write, accessors of
 * store objects, comparison of objects regardless of key order, template hashes and generated names, and the
 * conditions and owner references they write.
 */
import type { KubeObject } from "../store.js";
import { arr, milliOf, podCondition, rec } from "./scheduler.js";

/** A JSON object. */
export type Obj = Record<string, unknown>;

export const DEPLOYMENTS = "apps/deployments";
export const REPLICASETS = "apps/replicasets";
export const STATEFULSETS = "apps/statefulsets";
export const DAEMONSETS = "apps/daemonsets";
export const PODS = "/pods";
export const NODES = "/nodes";
/** The types the controllers watch. */
export const WATCHED = [DEPLOYMENTS, REPLICASETS, STATEFULSETS, DAEMONSETS, PODS, NODES];

export const HASH_LABEL = "pod-template-hash";
export const REVISION_LABEL = "controller-revision-hash";
export const REVISION = "deployment.kubernetes.io/revision";
export const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
/** The alphabet of generated names (k8s.io/apimachinery/pkg/util/rand): no vowels, no confusable digits. */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

export const clone = <T>(v: T): T => structuredClone(v);
export const nameOf = (o: KubeObject): string => String(o.metadata["name"]);
export const nsOf = (o: KubeObject): string | undefined => o.metadata["namespace"] as string | undefined;
export const uidOf = (o: KubeObject): string => String(o.metadata["uid"] ?? "");
export const specOf = (o: KubeObject): Obj => rec(o["spec"]);
export const statusOf = (o: KubeObject): Obj => rec(o["status"]);
export const generationOf = (o: KubeObject): number => Number(o.metadata["generation"] ?? 1);
/** The store's key of an object: "namespace/name" (the order in which the store lists objects). */
export const keyOf = (o: KubeObject): string => `${nsOf(o) ?? ""}/${nameOf(o)}`;
/** `spec.nodeName`, if set. */
export const nodeNameOf = (pod: KubeObject): string | undefined => {
  const n = specOf(pod)["nodeName"];
  return typeof n === "string" && n !== "" ? n : undefined;
};
/** `spec.replicas`, 1 when absent. */
export const replicasOf = (o: KubeObject): number => {
  const r = specOf(o)["replicas"];
  return typeof r === "number" && r >= 0 ? Math.floor(r) : 1;
};
export const isPodReady = (pod: KubeObject): boolean => podCondition(pod, "Ready")?.["status"] === "True";
export const isRunningReady = (pod: KubeObject): boolean => statusOf(pod)["phase"] === "Running" && isPodReady(pod);
/** The uid of the object's controller (its ownerReference with `controller: true`). */
export const controllerUid = (o: KubeObject): string | undefined => {
  const ref = arr(o.metadata["ownerReferences"]).find((r) => r["controller"] === true);
  return ref ? String(ref["uid"]) : undefined;
};

/** JSON with object keys sorted, for comparing objects regardless of key order. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** Whether two JSON values are equal, whatever the order of their keys (a key set to undefined is absent). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const y = b as unknown[];
    return a.length === y.length && a.every((x, i) => sameValue(x, y[i]));
  }
  const x = a as Obj;
  const y = b as Obj;
  const kx = Object.keys(x).filter((k) => x[k] !== undefined);
  const ky = Object.keys(y).filter((k) => y[k] !== undefined);
  return kx.length === ky.length && kx.every((k) => sameValue(x[k], y[k]));
}

/** Whether two stored objects are the same but for their resourceVersion (compared in place, no copies). */
export function sameObject(a: KubeObject, b: KubeObject): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== undefined && k !== "metadata");
  const kb = Object.keys(b).filter((k) => b[k] !== undefined && k !== "metadata");
  if (ka.length !== kb.length || !ka.every((k) => sameValue(a[k], b[k]))) return false;
  const ma = Object.keys(a.metadata).filter((k) => a.metadata[k] !== undefined && k !== "resourceVersion");
  const mb = Object.keys(b.metadata).filter((k) => b.metadata[k] !== undefined && k !== "resourceVersion");
  return ma.length === mb.length && ma.every((k) => sameValue(a.metadata[k], b.metadata[k]));
}

function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The hash of a pod template, as the `pod-template-hash` label carries it: FNV-1a over the template (keys
 * sorted), its decimal digits padded to 10 and encoded into the safe alphabet, as the controller's
 * SafeEncodeString does (so it looks like real ones, e.g. "7d4b9c8f6b").
 */
export function templateHash(template: unknown): string {
  const known = template !== null && typeof template === "object" ? hashes.get(template) : undefined;
  if (known) return known;
  const hash = [...String(fnv32a(stableJson(template))).padStart(10, "0")]
    .map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length])
    .join("");
  if (template !== null && typeof template === "object") hashes.set(template, hash);
  return hash;
}

/**
 * Templates hashed, by identity: a stored object is replaced, never changed in place, so its template's hash
 * holds while it is stored (the controllers hash every workload's template they reconcile).
 */
const hashes = new WeakMap<object, string>();

/** A deterministic 5-character name suffix in the safe alphabet. */
export function nameSuffix(seed: string): string {
  let h = fnv32a(seed);
  let out = "";
  for (let i = 0; i < 5; i++) {
    out += ALPHANUMS[h % ALPHANUMS.length];
    h = Math.floor(h / ALPHANUMS.length);
  }
  return out;
}

/** The QoS class the API server records for a pod spec. */
export function qosClass(spec: Obj): string {
  let any = false;
  let guaranteed = true;
  for (const c of [...arr(spec["containers"]), ...arr(spec["initContainers"])]) {
    const res = rec(c["resources"]);
    const req = rec(res["requests"]);
    const lim = rec(res["limits"]);
    for (const k of ["cpu", "memory"]) {
      if (req[k] !== undefined || lim[k] !== undefined) any = true;
      if (lim[k] === undefined || (req[k] !== undefined && milliOf(req[k]) !== milliOf(lim[k]))) guaranteed = false;
    }
  }
  return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

/** A condition a controller asserts. */
export interface WantedCondition {
  type: string;
  status: "True" | "False";
  reason?: string;
  message?: string;
}

/**
 * Conditions after setting some: times kept while a condition's status (lastTransitionTime) or also its
 * reason and message (lastUpdateTime, with `updateTime`) stay the same, so re-asserting writes nothing.
 */
export function setConditions(
  old: readonly Obj[],
  wanted: readonly WantedCondition[],
  now: string,
  style: "pod" | "workload",
): Obj[] {
  const made = wanted.map((w) => {
    const prev = old.find((c) => c["type"] === w.type);
    const sameStatus = prev !== undefined && prev["status"] === w.status;
    const same = sameStatus && prev["reason"] === w.reason && prev["message"] === w.message;
    const c: Obj = { type: w.type, status: w.status };
    if (style === "pod") c["lastProbeTime"] = null;
    else c["lastUpdateTime"] = same ? (prev["lastUpdateTime"] ?? now) : now;
    c["lastTransitionTime"] = sameStatus ? (prev["lastTransitionTime"] ?? now) : now;
    if (w.reason !== undefined) c["reason"] = w.reason;
    if (w.message !== undefined) c["message"] = w.message;
    return c;
  });
  // In `wanted`'s order (the writer's own order, as the kubelet writes its list), then any others.
  return [...made, ...old.filter((c) => !wanted.some((w) => w.type === c["type"]))];
}

/** The ownerReference a workload controller puts on what it creates. */
export function ownerRef(kind: string, owner: KubeObject): Obj {
  return {
    apiVersion: "apps/v1",
    kind,
    name: nameOf(owner),
    uid: uidOf(owner),
    controller: true,
    blockOwnerDeletion: true,
  };
}
