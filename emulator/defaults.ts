/**
 * The defaults the API server fills in on every write (its defaulting functions, as `kubectl get -o yaml` shows
 * them on an object whose file never said them), for the fields CAMINO's packages leave out: a Deployment's
 * `strategy` (RollingUpdate, 25% surge and unavailable), `revisionHistoryLimit` (10) and
 * `progressDeadlineSeconds` (600); every container port's and Service port's `protocol` (TCP); a Service's
 * `type` (ClusterIP) and `sessionAffinity` (None). A field already given is left as it is.
 *
 * Drift is judged as `kubectl diff` judges it (a server-side dry-run apply of the file against the live object),
 * so defaults the server fills in on both sides are not drift; without them here, nothing would show that.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** Kinds whose `spec.template.spec` is a pod spec. */
const TEMPLATED = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

/**
 * The object with the server's defaults for `kind` filled in: `o` itself when there is nothing to default (no
 * spec), else a copy with its spec copied (`o` is left as it is).
 */
export function applyServerDefaults(kind: string, given: Obj): Obj {
  if (!isObj(given["spec"])) return given;
  const o = { ...given, spec: structuredClone(given["spec"]) } as Obj;
  const spec = o["spec"] as Obj;
  if (kind === "Deployment") {
    const strategy = isObj(spec["strategy"]) ? spec["strategy"] : {};
    strategy["type"] ??= "RollingUpdate";
    if (strategy["type"] === "RollingUpdate") {
      const ru = isObj(strategy["rollingUpdate"]) ? strategy["rollingUpdate"] : {};
      ru["maxUnavailable"] ??= "25%";
      ru["maxSurge"] ??= "25%";
      strategy["rollingUpdate"] = ru;
    }
    spec["strategy"] = strategy;
    spec["revisionHistoryLimit"] ??= 10;
    spec["progressDeadlineSeconds"] ??= 600;
  }
  if (TEMPLATED.has(kind)) {
    const template = spec["template"];
    if (isObj(template) && isObj(template["spec"])) podSpecDefaults(template["spec"]);
  }
  if (kind === "Pod") podSpecDefaults(spec);
  if (kind === "Service") {
    spec["type"] ??= "ClusterIP";
    spec["sessionAffinity"] ??= "None";
    portDefaults(spec["ports"]);
  }
  return o;
}

function podSpecDefaults(pod: Obj): void {
  for (const list of [pod["initContainers"], pod["containers"]])
    if (Array.isArray(list)) for (const c of list) if (isObj(c)) portDefaults(c["ports"]);
}

function portDefaults(ports: unknown): void {
  if (!Array.isArray(ports)) return;
  for (const p of ports) if (isObj(p)) p["protocol"] ??= "TCP";
}
