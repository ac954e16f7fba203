/**
 * What a hydrated package holds, as the edge will see it: its Kubernetes objects (local-config files such
 * as the Kptfile and the IESD left out, as ConfigSync leaves them out), the resources its pods request, and
 * whether it provides an object another package needs (a prerequisite).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { HydratedPackage } from "../cad/hydrate.js";
import { millisOf, unitsOf } from "../../common/quantity.js";
import type { Amount, Demand } from "./placement.js";

const LOCAL_CONFIG = "config.kubernetes.io/local-config";
const cache = new WeakMap<ReadonlyMap<string, string>, KubernetesObject[]>();

/** The objects of a set of files (hydration output), parsed once per set. */
export function objectsOf(files: ReadonlyMap<string, string>): KubernetesObject[] {
  const hit = cache.get(files);
  if (hit) return hit;
  const out: KubernetesObject[] = [];
  for (const [path, text] of files) {
    if (!/\.ya?ml$/.test(path)) continue;
    for (const doc of parseAllDocuments(text)) {
      if (!("toJS" in doc)) continue;
      const o = doc.toJS() as KubernetesObject | null;
      if (!o || typeof o !== "object" || !o.kind || !o.apiVersion) continue;
      const local = o.metadata?.annotations?.[LOCAL_CONFIG];
      if (local !== undefined && local !== "false") continue;
      out.push(o);
    }
  }
  cache.set(files, out);
  return out;
}

/** The objects of one hydrated package (hydration made them; nothing is parsed again). */
export function packageObjects(p: HydratedPackage): KubernetesObject[] {
  return p.objects as unknown as KubernetesObject[];
}

type Container = { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } };
type PodSpec = { containers?: Container[]; initContainers?: Container[] };

/** One pod's requests as the scheduler counts them: the containers' sum, or the largest init container if more. */
export function podRequests(spec: PodSpec | undefined): { cpuMillis: number; memoryBytes: number } {
  const of = (c: Container) => {
    const r = c.resources?.requests ?? c.resources?.limits ?? {};
    return { cpuMillis: millisOf(r["cpu"]), memoryBytes: unitsOf(r["memory"]) };
  };
  const sum = { cpuMillis: 0, memoryBytes: 0 };
  for (const c of spec?.containers ?? []) {
    const r = of(c);
    sum.cpuMillis += r.cpuMillis;
    sum.memoryBytes += r.memoryBytes;
  }
  for (const c of spec?.initContainers ?? []) {
    const r = of(c);
    sum.cpuMillis = Math.max(sum.cpuMillis, r.cpuMillis);
    sum.memoryBytes = Math.max(sum.memoryBytes, r.memoryBytes);
  }
  return sum;
}

/**
 * What the package's pods request in total, and its largest pod. Deployments, StatefulSets and ReplicaSets
 * count `replicas` pods (default 1), a bare Pod one. A DaemonSet's pods depend on the edge's nodes and are
 * not counted (none of the sample blueprints has one).
 */
export function demandOf(objects: readonly KubernetesObject[]): Demand {
  const total: Amount = { cpuMillis: 0, memoryBytes: 0, pods: 0 };
  const largestPod = { cpuMillis: 0, memoryBytes: 0 };
  for (const o of objects) {
    let pods = 0;
    let spec: PodSpec | undefined;
    const body = o as KubernetesObject & { spec?: { replicas?: number; template?: { spec?: PodSpec } } & PodSpec };
    if (o.kind === "Deployment" || o.kind === "StatefulSet" || o.kind === "ReplicaSet") {
      pods = body.spec?.replicas ?? 1;
      spec = body.spec?.template?.spec;
    } else if (o.kind === "Pod") {
      pods = 1;
      spec = body.spec;
    }
    if (pods === 0) continue;
    const r = podRequests(spec);
    total.cpuMillis += r.cpuMillis * pods;
    total.memoryBytes += r.memoryBytes * pods;
    total.pods += pods;
    largestPod.cpuMillis = Math.max(largestPod.cpuMillis, r.cpuMillis);
    largestPod.memoryBytes = Math.max(largestPod.memoryBytes, r.memoryBytes);
  }
  return { total, largestPod };
}

/** Whether the objects include `kind`/`name` (a prerequisite another package may need). */
export function provides(objects: readonly KubernetesObject[], kind: string, name: string): boolean {
  return objects.some((o) => o.kind === kind && o.metadata?.name === name);
}
