/**
 * Validation of custom resources against a CustomResourceDefinition's structural OpenAPI v3 schema, the
 * subset the API server enforces: type, properties (unknown fields refused under fieldValidation=Strict),
 * required, items, enum, additionalProperties, nullable, x-kubernetes-preserve-unknown-fields and
 * x-kubernetes-int-or-string. metadata is checked by the server itself, not by the CRD schema.
 */
import type { StatusCause } from "./status.js";

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  additionalProperties?: Schema | boolean;
  nullable?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  format?: string;
  minimum?: number;
  maximum?: number;
};

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function check(schema: Schema, value: unknown, path: string, strict: boolean, out: StatusCause[]): void {
  if (value === null) {
    if (!schema.nullable && schema.type)
      out.push({
        reason: "FieldValueTypeInvalid",
        field: path,
        message: `Invalid value: "null": ${path} in body must be of type ${schema.type}: "null"`,
      });
    return;
  }
  if (schema["x-kubernetes-int-or-string"]) {
    if (typeof value !== "string" && !Number.isInteger(value))
      out.push({
        reason: "FieldValueTypeInvalid",
        field: path,
        message: `Invalid value: "${typeOf(value)}": ${path} in body must be of type integer or string: "${typeOf(value)}"`,
      });
    return;
  }
  const actual = typeOf(value);
  if (schema.type && schema.type !== actual && !(schema.type === "number" && actual === "integer")) {
    out.push({
      reason: "FieldValueTypeInvalid",
      field: path,
      message: `Invalid value: "${actual}": ${path} in body must be of type ${schema.type}: "${actual}"`,
    });
    return;
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    out.push({
      reason: "FieldValueNotSupported",
      field: path,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`,
    });
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum)
      out.push({
        reason: "FieldValueInvalid",
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${schema.minimum}`,
      });
    if (schema.maximum !== undefined && value > schema.maximum)
      out.push({
        reason: "FieldValueInvalid",
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be less than or equal to ${schema.maximum}`,
      });
  }
  if (actual === "array" && schema.items)
    (value as unknown[]).forEach((v, i) => {
      check(schema.items as Schema, v, `${path}[${i}]`, strict, out);
    });
  if (actual === "object") {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? [])
      if (obj[r] === undefined)
        out.push({ reason: "FieldValueRequired", field: path ? `${path}.${r}` : r, message: "Required value" });
    for (const [k, v] of Object.entries(obj)) {
      if (v === undefined) continue;
      const p = path ? `${path}.${k}` : k;
      const sub = schema.properties?.[k];
      if (sub) check(sub, v, p, strict, out);
      else if (typeof schema.additionalProperties === "object") check(schema.additionalProperties, v, p, strict, out);
      else if (
        schema.additionalProperties === true ||
        schema["x-kubernetes-preserve-unknown-fields"] ||
        !schema.properties
      )
        continue;
      else if (strict) out.push({ reason: "FieldValueInvalid", field: p, message: `unknown field "${p}"` });
    }
  }
}

/** Validates an object (without metadata) against a CRD version's openAPIV3Schema. */
export function validateAgainstCrdSchema(
  schema: Record<string, unknown>,
  object: Record<string, unknown>,
  strict: boolean,
): StatusCause[] {
  const out: StatusCause[] = [];
  const { metadata: _m, ...rest } = object;
  const root = schema as Schema;
  // metadata, apiVersion and kind are the server's to check.
  const props = { ...(root.properties ?? {}), apiVersion: { type: "string" }, kind: { type: "string" } };
  check({ ...root, properties: props }, rest, "", strict, out);
  return out;
}

/** The schema of a ConfigSync RootSync/RepoSync (v1beta1), the fields the agent and ConfigSync use. */
export const SYNC_SCHEMA: Record<string, unknown> = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        sourceType: { type: "string", enum: ["git", "oci", "helm"] },
        sourceFormat: { type: "string", enum: ["hierarchy", "unstructured"] },
        namespaceStrategy: { type: "string", enum: ["implicit", "explicit"] },
        git: {
          type: "object",
          required: ["repo", "auth"],
          properties: {
            repo: { type: "string" },
            branch: { type: "string" },
            revision: { type: "string" },
            dir: { type: "string" },
            period: { type: "string" },
            auth: {
              type: "string",
              enum: [
                "ssh",
                "cookiefile",
                "gcenode",
                "gcpserviceaccount",
                "token",
                "none",
                "githubapp",
                "k8sserviceaccount",
              ],
            },
            gcpServiceAccountEmail: { type: "string" },
            proxy: { type: "string" },
            secretRef: { type: "object", properties: { name: { type: "string" } } },
            noSSLVerify: { type: "boolean" },
            caCertSecretRef: { type: "object", properties: { name: { type: "string" } } },
          },
        },
        override: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      },
    },
    status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  },
};
