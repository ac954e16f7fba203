/**
 * What the API server checks beyond schemas, worded as it words it: name rules per kind, workload selectors
 * that must match the pod template and may not change, containers (required, named uniquely, with an
 * image), non-negative replicas, Service ports, and CRD names. Plus the schema checks themselves: the
 * Kubernetes and Istio models (strict about unknown fields when asked) and CRD schemas for custom resources.
 */
import { validateObject } from "../common/schema.js";
import { dns1035LabelProblem, dns1123LabelProblem, dns1123SubdomainProblem } from "../common/names.js";
import { SYNC_SCHEMA, validateAgainstCrdSchema } from "./crd-schema.js";
import type { ResourceType } from "./resources.js";
import { duplicateValue, invalidValue, requiredValue, unknownField, type StatusCause } from "./status.js";

type Obj = Record<string, unknown>;
const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);

const SUBDOMAIN_HELP =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_HELP =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_HELP =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function nameCauses(type: ResourceType, name: unknown): StatusCause[] {
  if (typeof name !== "string" || name === "") return [requiredValue("metadata.name")];
  if (type.kind === "Namespace")
    return dns1123LabelProblem(name) ? [invalidValue("metadata.name", name, LABEL_HELP)] : [];
  if (type.kind === "Service")
    return dns1035LabelProblem(name) ? [invalidValue("metadata.name", name, DNS1035_HELP)] : [];
  return dns1123SubdomainProblem(name) ? [invalidValue("metadata.name", name, SUBDOMAIN_HELP)] : [];
}

function containerCauses(podSpec: unknown, at: string): StatusCause[] {
  const out: StatusCause[] = [];
  const containers = get(podSpec, "containers");
  if (!Array.isArray(containers) || containers.length === 0) return [requiredValue(`${at}.containers`)];
  const seen = new Set<string>();
  for (const [listName, list] of [
    ["initContainers", get(podSpec, "initContainers")],
    ["containers", containers],
  ] as const) {
    if (!Array.isArray(list)) continue;
    list.forEach((c: unknown, i: number) => {
      const name = get(c, "name");
      const p = `${at}.${listName}[${i}]`;
      if (typeof name !== "string" || !name) out.push(requiredValue(`${p}.name`));
      else if (seen.has(name)) out.push(duplicateValue(`${p}.name`, name));
      else seen.add(name);
      if (!get(c, "image")) out.push(requiredValue(`${p}.image`));
    });
  }
  return out;
}

const goMap = (m: unknown) =>
  `map[string]string{${Object.entries((m ?? {}) as Record<string, string>)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join(", ")}}`;

function workloadCauses(obj: Obj, old: Obj | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  const replicas = get(obj, "spec", "replicas");
  if (typeof replicas === "number" && replicas < 0)
    out.push(invalidValue("spec.replicas", replicas, "must be greater than or equal to 0"));
  const selector = get(obj, "spec", "selector");
  if (!selector) out.push(requiredValue("spec.selector"));
  const matchLabels = (get(selector, "matchLabels") ?? {}) as Record<string, string>;
  const labels = (get(obj, "spec", "template", "metadata", "labels") ?? {}) as Record<string, string>;
  if (selector && Object.entries(matchLabels).some(([k, v]) => labels[k] !== v)) {
    out.push(
      invalidValue("spec.template.metadata.labels", goMap(labels), "`selector` does not match template `labels`"),
    );
  }
  if (selector && Object.keys(matchLabels).length === 0 && !get(selector, "matchExpressions"))
    out.push(invalidValue("spec.selector", "{}", "empty selector is invalid for deployment"));
  if (old && JSON.stringify(get(old, "spec", "selector")) !== JSON.stringify(selector))
    out.push(invalidValue("spec.selector", goMap(matchLabels), "field is immutable"));
  out.push(...containerCauses(get(obj, "spec", "template", "spec"), "spec.template.spec"));
  return out;
}

/**
 * Every problem of an object about to be written (create, update, patch, apply).
 * @param old the stored object on an update
 */
export function validateWrite(type: ResourceType, written: Obj, old: Obj | undefined, strict: boolean): StatusCause[] {
  // managedFields is the server's own bookkeeping (its fieldsV1 is free-form); it is not the client's to validate.
  const { managedFields: _mf, ...metadata } = (written["metadata"] ?? {}) as Obj;
  const obj: Obj = { ...written, metadata };
  const causes = nameCauses(type, get(obj, "metadata", "name"));
  if (type.schema) {
    causes.push(...validateAgainstCrdSchema(type.schema, obj, strict));
  } else if (type.group === "configsync.gke.io") {
    causes.push(...validateAgainstCrdSchema(SYNC_SCHEMA, obj, strict));
  } else {
    for (const issue of validateObject(obj, strict)) {
      if (issue.path === "metadata.name") continue;
      causes.push(
        issue.message.startsWith("unknown field")
          ? unknownField(issue.path)
          : { reason: "FieldValueInvalid", field: issue.path || "<root>", message: `Invalid value: ${issue.message}` },
      );
    }
  }
  switch (type.kind) {
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
      causes.push(...workloadCauses(obj, old));
      break;
    case "Pod":
      causes.push(...containerCauses(get(obj, "spec"), "spec"));
      break;
    case "Service": {
      const ports = get(obj, "spec", "ports");
      if (
        get(obj, "spec", "type") !== "ExternalName" &&
        (!Array.isArray(ports) || ports.length === 0) &&
        get(obj, "spec", "clusterIP") !== "None"
      )
        causes.push(requiredValue("spec.ports"));
      break;
    }
    case "CustomResourceDefinition": {
      const want = `${String(get(obj, "spec", "names", "plural") ?? "")}.${String(get(obj, "spec", "group") ?? "")}`;
      if (get(obj, "metadata", "name") !== want)
        causes.push(
          invalidValue("metadata.name", get(obj, "metadata", "name"), `must be spec.names.plural+"."+spec.group`),
        );
      break;
    }
  }
  return causes;
}
