/**
 * Validation of Kubernetes and Istio objects against their published schemas (kubernetes-models and
 * @kubernetes-models/istio), before anything is written. Problems come back with the field path.
 */
import { Namespace, Service, ConfigMap, Secret, ServiceAccount, Pod, Endpoints } from "kubernetes-models/v1";
import { Deployment, StatefulSet, DaemonSet, ReplicaSet } from "kubernetes-models/apps/v1";
import { NetworkPolicy, Ingress, IngressClass } from "kubernetes-models/networking.k8s.io/v1";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1";
import { VirtualService, DestinationRule, ServiceEntry, Gateway } from "@kubernetes-models/istio/networking.istio.io/v1";
import { PeerAuthentication, AuthorizationPolicy } from "@kubernetes-models/istio/security.istio.io/v1";
import type { FieldIssue } from "../errors.js";

interface Validatable {
  validate(): void;
}
type Model = new (data: never) => Validatable;

const MODELS: Record<string, Model> = {};
function register(apiVersion: string, models: Record<string, unknown>): void {
  for (const [kind, model] of Object.entries(models)) MODELS[`${apiVersion}/${kind}`] = model as Model;
}
register("v1", { Namespace, Service, ConfigMap, Secret, ServiceAccount, Pod, Endpoints });
register("apps/v1", { Deployment, StatefulSet, DaemonSet, ReplicaSet });
register("networking.k8s.io/v1", { NetworkPolicy, Ingress, IngressClass });
register("apiextensions.k8s.io/v1", { CustomResourceDefinition });
register("networking.istio.io/v1", { VirtualService, DestinationRule, ServiceEntry, Gateway });
register("security.istio.io/v1", { PeerAuthentication, AuthorizationPolicy });

/** apiVersion/kind pairs that can be validated. */
export const VALIDATED_KINDS: readonly string[] = Object.keys(MODELS).sort();

/** "/spec/template/0/image" → "spec.template[0].image". */
function pointerToPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), "");
}

/**
 * Validates one object. Returns its problems (empty when valid), each with the object's field path.
 * An apiVersion/kind without a schema is a problem too: nothing unchecked reaches an edge.
 */
export function validateObject(obj: Record<string, unknown>): FieldIssue[] {
  const apiVersion = obj["apiVersion"];
  const kind = obj["kind"];
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return [{ path: typeof apiVersion !== "string" ? "apiVersion" : "kind", message: "is required" }];
  }
  const model = MODELS[`${apiVersion}/${kind}`];
  if (!model) return [{ path: "kind", message: `${apiVersion}/${kind} is not a kind CAMINO can validate (${VALIDATED_KINDS.join(", ")})` }];
  const issues: FieldIssue[] = [];
  const meta = obj["metadata"] as { name?: unknown } | undefined;
  if (typeof meta?.name !== "string" || meta.name === "") issues.push({ path: "metadata.name", message: "is required" });
  try {
    new model(obj as never).validate();
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] }).errors;
    if (!errors) throw err;
    for (const e of errors) {
      const extra = e.params?.["allowedValues"] ? ` (${(e.params["allowedValues"] as unknown[]).join(", ")})` : e.params?.["missingProperty"] ? ` (${String(e.params["missingProperty"])})` : "";
      issues.push({ path: pointerToPath(e.instancePath), message: `${e.message ?? "is invalid"}${extra}` });
    }
  }
  return issues;
}
