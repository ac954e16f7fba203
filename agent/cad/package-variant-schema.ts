/**
 * The fields and types of porch's PackageVariant (`config.porch.kpt.dev/v1alpha1`), written for this project
 * from porch's CRD and controller: unknown fields, wrong types and the values the controller refuses are
 * reported with their path. CAMINO checks every PackageVariant it emits, so a porch takeover gets valid ones.
 */
import type { FieldIssue } from "../errors.js";

type Schema =
  | { type: "string"; enum?: readonly string[]; required?: boolean }
  | { type: "stringMap"; required?: boolean }
  | { type: "stringList"; required?: boolean }
  | { type: "object"; fields: Record<string, Schema>; required?: boolean }
  | { type: "list"; items: Schema; required?: boolean };

const str = (extra: { enum?: readonly string[]; required?: boolean } = {}): Schema => ({ type: "string", ...extra });
const selector: Schema = {
  type: "object",
  fields: {
    apiVersion: str(),
    kind: str(),
    name: str(),
    namespace: str(),
    labels: { type: "stringMap" },
    annotations: { type: "stringMap" },
  },
};
const fn: Schema = {
  type: "object",
  fields: {
    image: str(),
    exec: str(),
    configPath: str(),
    configMap: { type: "stringMap" },
    name: str(),
    selectors: { type: "list", items: selector },
    exclude: { type: "list", items: selector },
  },
};

/** The PackageVariant schema (metadata is checked only for a name). */
export const PACKAGE_VARIANT_SCHEMA: Schema = {
  type: "object",
  fields: {
    apiVersion: str({ enum: ["config.porch.kpt.dev/v1alpha1"], required: true }),
    kind: str({ enum: ["PackageVariant"], required: true }),
    metadata: {
      type: "object",
      required: true,
      fields: {
        name: str({ required: true }),
        namespace: str(),
        labels: { type: "stringMap" },
        annotations: { type: "stringMap" },
      },
    },
    spec: {
      type: "object",
      required: true,
      fields: {
        // The controller requires repo, package and revision of the upstream, and repo and package of the downstream.
        upstream: {
          type: "object",
          required: true,
          fields: {
            repo: str({ required: true }),
            package: str({ required: true }),
            revision: str({ required: true }),
            workspaceName: str(),
          },
        },
        downstream: {
          type: "object",
          required: true,
          fields: { repo: str({ required: true }), package: str({ required: true }) },
        },
        adoptionPolicy: str({ enum: ["adoptExisting", "adoptNone"] }),
        deletionPolicy: str({ enum: ["delete", "orphan"] }),
        labels: { type: "stringMap" },
        annotations: { type: "stringMap" },
        packageContext: { type: "object", fields: { data: { type: "stringMap" }, removeKeys: { type: "stringList" } } },
        pipeline: {
          type: "object",
          fields: { validators: { type: "list", items: fn }, mutators: { type: "list", items: fn } },
        },
        injectors: {
          type: "list",
          items: {
            type: "object",
            fields: { group: str(), version: str(), kind: str(), name: str({ required: true }) },
          },
        },
      },
    },
    status: { type: "object", fields: {} },
  },
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function check(schema: Schema, value: unknown, path: string, out: FieldIssue[]): void {
  switch (schema.type) {
    case "string":
      if (typeof value !== "string") return void out.push({ path, message: "must be a string" });
      if (schema.enum && !schema.enum.includes(value))
        out.push({ path, message: `must be one of ${schema.enum.join(", ")}` });
      return;
    case "stringMap":
      if (!isObject(value)) return void out.push({ path, message: "must be a map of strings" });
      for (const [k, v] of Object.entries(value))
        if (typeof v !== "string") out.push({ path: `${path}.${k}`, message: "must be a string" });
      return;
    case "stringList":
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
        out.push({ path, message: "must be a list of strings" });
      return;
    case "list":
      if (!Array.isArray(value)) return void out.push({ path, message: "must be a list" });
      value.forEach((v, i) => {
        check(schema.items, v, `${path}[${i}]`, out);
      });
      return;
    case "object": {
      if (!isObject(value)) return void out.push({ path, message: "must be an object" });
      for (const [k, sub] of Object.entries(schema.fields)) {
        const p = path ? `${path}.${k}` : k;
        if (value[k] === undefined) {
          if (sub.required) out.push({ path: p, message: "is required" });
        } else check(sub, value[k], p, out);
      }
      for (const k of Object.keys(value))
        if (!(k in schema.fields)) out.push({ path: path ? `${path}.${k}` : k, message: "unknown field" });
    }
  }
}

/** Checks a PackageVariant; returns its problems (empty when valid). */
export function validatePackageVariant(pv: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  check(PACKAGE_VARIANT_SCHEMA, pv, "", out);
  const ctx = (pv as { spec?: { packageContext?: { data?: Record<string, unknown> } } })?.spec?.packageContext?.data;
  for (const k of ["name", "package-path"])
    if (ctx && k in ctx) out.push({ path: `spec.packageContext.data.${k}`, message: "is reserved by porch" });
  return out;
}
