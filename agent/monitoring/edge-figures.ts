/**
 * One edge's figures, computed the same way whichever source read them: the sources reduce what they read to an
 * {@link EdgeReading} (nodes, pods, per-pod usage, deployments, as kube-state-metrics and cAdvisor name them) and
 * {@link figuresOf} does the arithmetic, so Prometheus and the direct scrape cannot disagree on what "requested"
 * or "free" means. Requested is counted as the scheduler counts it (edge/capacity.ts): the containers' requests of
 * pods bound to a Ready node that have not terminated.
 */
import type { EdgeFigures, Usage, WorkloadFigures } from "./snapshot.js";

/** A node: Ready, and its allocatable CPU (cores) and memory (bytes). */
export interface NodeReading {
  ready: boolean;
  cpuCores: number;
  memoryBytes: number;
}

/** A pod, keyed `<namespace>/<pod>` in {@link EdgeReading.pods}. */
export interface PodReading {
  node: string;
  phase: string;
  ready: boolean;
  /** The pod's `camino.io/*` labels (intent, package, domain), empty when it is not CAMINO's. */
  intent: string;
  package: string;
  domain: string;
  /** Sums over its containers: cores and bytes. */
  requests: { cpuCores: number; memoryBytes: number };
  limits: { cpuCores: number; memoryBytes: number };
}

/** A Deployment of a CAMINO package. */
export interface DeploymentReading {
  intent: string;
  package: string;
  domain: string;
  desired: number;
  available: number;
}

/** What a source read of one edge. */
export interface EdgeReading {
  nodes: Map<string, NodeReading>;
  pods: Map<string, PodReading>;
  /** Measured use per pod (`<namespace>/<pod>`): CPU in cores (a rate), working set in bytes. */
  usage: Map<string, { cpuCores: number; memoryBytes: number }>;
  deployments: DeploymentReading[];
}

/** An empty reading, for sources to fill. */
export function emptyReading(): EdgeReading {
  return { nodes: new Map(), pods: new Map(), usage: new Map(), deployments: [] };
}

const millis = (cores: number): number => Math.round(cores * 1000);
const usageOf = (cpuCores: number, memoryBytes: number): Usage => ({
  cpuMillis: millis(cpuCores),
  memoryBytes: Math.round(memoryBytes),
});
const holdsResources = (p: PodReading): boolean => p.node !== "" && p.phase !== "Succeeded" && p.phase !== "Failed";

/** An edge the source could not read. */
export function unreachableEdge(edge: string): EdgeFigures {
  const zero = (): Usage => ({ cpuMillis: 0, memoryBytes: 0 });
  return { edge, reachable: false, allocatable: zero(), requested: zero(), used: zero(), free: zero() };
}

/**
 * The edge's infrastructure figures and its CAMINO workloads (one per intent and package; `domain` is the
 * pods' `camino.io/domain` label, or `domain` when they carry none).
 */
export function figuresOf(
  edge: string,
  domain: string,
  r: EdgeReading,
): { edge: EdgeFigures; workloads: WorkloadFigures[] } {
  let allocCpu = 0;
  let allocMem = 0;
  for (const n of r.nodes.values()) {
    if (!n.ready) continue;
    allocCpu += n.cpuCores;
    allocMem += n.memoryBytes;
  }
  let reqCpu = 0;
  let reqMem = 0;
  const workloads = new Map<
    string,
    WorkloadFigures & { cpuCores: number; memBytes: number; limCpu: number; limMem: number }
  >();
  const workload = (intent: string, pkg: string, dom: string) => {
    const key = `${intent}/${pkg}`;
    let w = workloads.get(key);
    if (!w) {
      w = {
        intent,
        package: pkg,
        edge,
        domain: dom || domain,
        used: { cpuMillis: 0, memoryBytes: 0 },
        limits: { cpuMillis: 0, memoryBytes: 0 },
        replicasAvailable: 0,
        replicasDesired: 0,
        cpuCores: 0,
        memBytes: 0,
        limCpu: 0,
        limMem: 0,
      };
      workloads.set(key, w);
    }
    return w;
  };
  const podsByPackage = new Map<string, { pods: number; ready: number }>();
  for (const [key, p] of r.pods) {
    if (!holdsResources(p)) continue;
    if (r.nodes.get(p.node)?.ready) {
      reqCpu += p.requests.cpuCores;
      reqMem += p.requests.memoryBytes;
    }
    if (!p.intent || !p.package) continue;
    const w = workload(p.intent, p.package, p.domain);
    const u = r.usage.get(key);
    if (u) {
      w.cpuCores += u.cpuCores;
      w.memBytes += u.memoryBytes;
    }
    w.limCpu += p.limits.cpuCores;
    w.limMem += p.limits.memoryBytes;
    const counted = podsByPackage.get(`${p.intent}/${p.package}`) ?? { pods: 0, ready: 0 };
    counted.pods++;
    if (p.ready) counted.ready++;
    podsByPackage.set(`${p.intent}/${p.package}`, counted);
  }
  let usedCpu = 0;
  let usedMem = 0;
  for (const u of r.usage.values()) {
    usedCpu += u.cpuCores;
    usedMem += u.memoryBytes;
  }
  const withDeployment = new Set<string>();
  for (const d of r.deployments) {
    const w = workload(d.intent, d.package, d.domain);
    w.replicasDesired += d.desired;
    w.replicasAvailable += d.available;
    withDeployment.add(`${d.intent}/${d.package}`);
  }
  // A package run by something other than a Deployment (a StatefulSet, a bare pod): its pods are its replicas.
  for (const [key, c] of podsByPackage) {
    if (withDeployment.has(key)) continue;
    const w = workloads.get(key);
    if (!w) continue;
    w.replicasDesired = c.pods;
    w.replicasAvailable = c.ready;
  }
  const allocatable = usageOf(allocCpu, allocMem);
  const requested = usageOf(reqCpu, reqMem);
  const used = usageOf(usedCpu, usedMem);
  const figures: EdgeFigures = {
    edge,
    reachable: true,
    allocatable,
    requested,
    used,
    free: {
      cpuMillis: Math.max(0, allocatable.cpuMillis - requested.cpuMillis),
      memoryBytes: Math.max(0, allocatable.memoryBytes - requested.memoryBytes),
    },
    headroom: {
      cpuMillis: Math.max(0, allocatable.cpuMillis - Math.max(requested.cpuMillis, used.cpuMillis)),
      memoryBytes: Math.max(0, allocatable.memoryBytes - Math.max(requested.memoryBytes, used.memoryBytes)),
    },
  };
  const list = [...workloads.values()]
    .map(
      ({ cpuCores, memBytes, limCpu, limMem, ...w }): WorkloadFigures => ({
        ...w,
        used: usageOf(cpuCores, memBytes),
        limits: usageOf(limCpu, limMem),
      }),
    )
    .sort((a, b) => (a.intent === b.intent ? (a.package < b.package ? -1 : 1) : a.intent < b.intent ? -1 : 1));
  return { edge: figures, workloads: list };
}

/** A pod read with nothing known of it yet; a source fills it in series by series. */
export function newPod(): PodReading {
  return {
    node: "",
    phase: "",
    ready: false,
    intent: "",
    package: "",
    domain: "",
    requests: { cpuCores: 0, memoryBytes: 0 },
    limits: { cpuCores: 0, memoryBytes: 0 },
  };
}
