/**
 * Validation of Kubernetes and Istio objects against their published schemas (kubernetes-models and
 * @kubernetes-models/istio), before anything is written. Problems come back with the field path.
 */
import {
  Namespace,
  Service,
  ConfigMap,
  Secret,
  ServiceAccount,
  Pod,
  Endpoints,
  PersistentVolumeClaim,
} from "kubernetes-models/v1";
import { Deployment, StatefulSet, DaemonSet, ReplicaSet } from "kubernetes-models/apps/v1";
import { NetworkPolicy, Ingress, IngressClass } from "kubernetes-models/networking.k8s.io/v1";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1";
import {
  VirtualService,
  DestinationRule,
  ServiceEntry,
  Gateway,
} from "@kubernetes-models/istio/networking.istio.io/v1";
import { PeerAuthentication, AuthorizationPolicy } from "@kubernetes-models/istio/security.istio.io/v1";
import type { FieldIssue } from "./field-issue.js";

interface Validatable {
  validate(): void;
}
/** A kubernetes-models class: construct from data, then validate. */
export type Model = (new (data: never) => Validatable) & { prototype: Validatable };

const MODELS: Record<string, Model> = {};
function register(apiVersion: string, models: Record<string, unknown>): void {
  for (const [kind, model] of Object.entries(models)) MODELS[`${apiVersion}/${kind}`] = model as Model;
}
register("v1", { Namespace, Service, ConfigMap, Secret, ServiceAccount, Pod, Endpoints, PersistentVolumeClaim });
register("apps/v1", { Deployment, StatefulSet, DaemonSet, ReplicaSet });
register("networking.k8s.io/v1", { NetworkPolicy, Ingress, IngressClass });
register("apiextensions.k8s.io/v1", { CustomResourceDefinition });
register("networking.istio.io/v1", { VirtualService, DestinationRule, ServiceEntry, Gateway });
register("security.istio.io/v1", { PeerAuthentication, AuthorizationPolicy });

/** apiVersion/kind pairs that can be validated. */
export const VALIDATED_KINDS: readonly string[] = Object.keys(MODELS).sort();

/**
 * Fields of `obj` that the schema does not know. The models' validators are compiled JSON schemas that read
 * exactly the properties they know and iterate the keys of free-form maps; so the object is validated
 * through proxies that record what the validator touched, and an own key of a fixed-shape object that was
 * never read is an unknown field — what the API server's `fieldValidation=Strict` rejects.
 */
function checkWithProxies(model: Model, obj: Record<string, unknown>): { unknown: string[]; error: unknown } {
  const records = new Map<object, { path: string; read: Set<string>; iterated: boolean }>();
  const proxies = new WeakMap<object, object>();
  const track = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== "object") return value;
    const cached = proxies.get(value);
    if (cached) return cached;
    const rec = { path, read: new Set<string>(), iterated: false };
    records.set(value, rec);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        const v: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== "string") return v;
        rec.read.add(key);
        return track(v, Array.isArray(target) ? `${path}[${key}]` : path ? `${path}.${key}` : key);
      },
      ownKeys(target) {
        rec.iterated = true;
        return Reflect.ownKeys(target);
      },
      has(target, key) {
        if (typeof key === "string") rec.read.add(key);
        return Reflect.has(target, key);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  let error: unknown;
  try {
    model.prototype.validate.call(track(structuredClone(obj), ""));
  } catch (err) {
    // The same pass reports the schema errors: the validator is run once, not twice.
    error = err;
  }
  const out: string[] = [];
  for (const [value, rec] of records) {
    if (rec.iterated || Array.isArray(value)) continue;
    for (const k of Object.keys(value)) if (!rec.read.has(k)) out.push(rec.path ? `${rec.path}.${k}` : k);
  }
  return { unknown: out.sort(), error };
}

/** "/spec/template/0/image" → "spec.template[0].image". */
function pointerToPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), "");
}

/** The model class of an apiVersion/kind, if CAMINO has one. */
export function modelOf(apiVersion: string, kind: string): Model | undefined {
  return MODELS[`${apiVersion}/${kind}`];
}

/**
 * Validates one object. Returns its problems (empty when valid), each with the object's field path.
 * An apiVersion/kind without a schema is a problem too: nothing unchecked reaches an edge. With `strict`
 * (default), fields the schema does not know are problems, as with the API server's fieldValidation=Strict.
 */
export function validateObject(obj: Record<string, unknown>, strict = true): FieldIssue[] {
  const apiVersion = obj["apiVersion"];
  const kind = obj["kind"];
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return [{ path: typeof apiVersion !== "string" ? "apiVersion" : "kind", message: "is required" }];
  }
  const model = MODELS[`${apiVersion}/${kind}`];
  if (!model)
    return [
      {
        path: "kind",
        message: `${apiVersion}/${kind} is not a kind CAMINO can validate (${VALIDATED_KINDS.join(", ")})`,
      },
    ];
  const issues: FieldIssue[] = [];
  const meta = obj["metadata"] as { name?: unknown } | undefined;
  if (typeof meta?.name !== "string" || meta.name === "")
    issues.push({ path: "metadata.name", message: "is required" });
  let failure: unknown;
  if (strict) {
    const checked = checkWithProxies(model, obj);
    for (const f of checked.unknown) issues.push({ path: f, message: `unknown field "${f}"` });
    failure = checked.error;
  } else {
    try {
      new model(obj as never).validate();
    } catch (err) {
      failure = err;
    }
  }
  if (failure !== undefined) {
    const err = failure;
    const errors = (err as { errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] })
      .errors;
    if (!errors) throw err;
    for (const e of errors) {
      const extra = e.params?.["allowedValues"]
        ? ` (${(e.params["allowedValues"] as unknown[]).join(", ")})`
        : e.params?.["missingProperty"]
          ? ` (${String(e.params["missingProperty"])})`
          : "";
      issues.push({ path: pointerToPath(e.instancePath), message: `${e.message ?? "is invalid"}${extra}` });
    }
  }
  return issues;
}
