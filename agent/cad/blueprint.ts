/**
 * A blueprint: a kpt package (a folder with a `Kptfile`, `apiVersion: kpt.dev/v1`) read from a file map.
 * Its setters are found where its YAML references them (`# kpt-set: ${name}`); their defaults come from the
 * local-config ConfigMap the Kptfile names (annotation `camino.io/setters`, or the apply-setters mutator's
 * configPath). A setter referenced without a default is required. The Kptfile's annotations also say whether
 * the blueprint is exported to peers and what it needs on an edge (`camino.io/prerequisites: Kind/name, …`).
 */
import { isMap, type Document } from "yaml";
import { CaminoError } from "../errors.js";
import { applySetters } from "./setters.js";
import { parseYamlFile } from "./yaml-io.js";

export const LOCAL_CONFIG = "config.kubernetes.io/local-config";

export interface SetterInfo {
  name: string;
  default?: string;
  required: boolean;
  /** Where it is used: `file: field.path`. */
  uses: string[];
}

export interface BlueprintInfo {
  name: string;
  description: string;
  exported: boolean;
  /** e.g. "network" for the Network Manager's packages; empty for CNFs. */
  role: string;
  prerequisites: { kind: string; name: string }[];
  setters: SetterInfo[];
  /** Services the package defines and their ports (as the defaults render them). */
  exposes: { service: string; port: number; protocol: string }[];
  /** Default resource requests: the `cpu` and `memory` setter defaults. */
  defaultResources: { cpu?: string; memory?: string };
}

export interface Blueprint extends BlueprintInfo {
  /** Folder of the package in its repository, e.g. "cnf/upf". */
  path: string;
  /** Relative path → text, every file of the package. */
  files: ReadonlyMap<string, string>;
  /** The file holding setter defaults (not copied into deployment packages), if any. */
  settersFile?: string;
  defaults: Readonly<Record<string, string>>;
  /** Parsed resource files (YAML other than the Kptfile and the setters file). */
  resources: ReadonlyMap<string, Document[]>;
}

/** A blueprint that cannot be read; names the package and file. */
export class BlueprintError extends CaminoError {
  constructor(path: string, message: string, cause?: unknown) {
    super("ERR_BLUEPRINT_INVALID", `blueprint ${path}: ${message}`, { cause, data: { blueprint: path } });
  }
}

const isYaml = (f: string) => f.endsWith(".yaml") || f.endsWith(".yml") || f === "Kptfile";

function plain(doc: Document): Record<string, unknown> {
  const v = doc.toJS() as unknown;
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function annotations(obj: Record<string, unknown>): Record<string, string> {
  const a = (obj["metadata"] as { annotations?: unknown } | undefined)?.annotations;
  return a && typeof a === "object" ? (a as Record<string, string>) : {};
}

/** Whether an object is local configuration (not applied to a cluster). */
export function isLocalConfig(obj: Record<string, unknown>): boolean {
  return String(annotations(obj)[LOCAL_CONFIG] ?? "false") !== "false";
}

/**
 * Reads a blueprint from its files.
 * @param path folder of the package in its repository
 * @param files relative path → text
 * @throws BlueprintError for a missing or wrong Kptfile, bad YAML, or a bad setters file
 */
export function readBlueprint(path: string, files: ReadonlyMap<string, string>): Blueprint {
  const kptText = files.get("Kptfile");
  if (kptText === undefined) throw new BlueprintError(path, "has no Kptfile");
  let kptfile: Record<string, unknown>;
  const parse = (file: string, text: string) => {
    try {
      return parseYamlFile(file, text);
    } catch (err) {
      throw new BlueprintError(path, (err as Error).message, err);
    }
  };
  try {
    kptfile = plain(parse("Kptfile", kptText)[0] as Document);
  } catch (err) {
    if (err instanceof BlueprintError) throw err;
    throw new BlueprintError(path, "Kptfile is empty", err);
  }
  if (kptfile["apiVersion"] !== "kpt.dev/v1" || kptfile["kind"] !== "Kptfile") {
    throw new BlueprintError(
      path,
      `Kptfile must be apiVersion kpt.dev/v1, kind Kptfile (is ${String(kptfile["apiVersion"])}, ${String(kptfile["kind"])})`,
    );
  }
  const ann = annotations(kptfile);
  const name = String((kptfile["metadata"] as { name?: unknown } | undefined)?.name ?? path.split("/").pop());
  const mutators = ((kptfile["pipeline"] as { mutators?: unknown } | undefined)?.mutators ?? []) as {
    image?: string;
    configPath?: string;
    configMap?: Record<string, string>;
  }[];
  const applySettersFn = mutators.find((m) => typeof m.image === "string" && m.image.includes("apply-setters"));
  const settersFile = ann["camino.io/setters"] ?? applySettersFn?.configPath;

  const defaults = new Map<string, string>(Object.entries(applySettersFn?.configMap ?? {}));
  if (settersFile) {
    const text = files.get(settersFile);
    if (text === undefined)
      throw new BlueprintError(path, `setters file ${settersFile} named by the Kptfile is missing`);
    const cm = plain(parse(settersFile, text)[0] as Document);
    const data = (cm["data"] ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== "string")
        throw new BlueprintError(path, `${settersFile}: data.${k} must be a string (quote it)`);
      defaults.set(k, v);
    }
  }

  const resources = new Map<string, Document[]>();
  const uses = new Map<string, string[]>();
  const exposes: BlueprintInfo["exposes"] = [];
  for (const file of [...files.keys()].sort()) {
    if (file === "Kptfile" || file === settersFile || !isYaml(file)) continue;
    const docs = parse(file, files.get(file) as string);
    resources.set(file, docs);
    for (const doc of docs) {
      if (!isMap(doc.contents)) continue;
      for (const ref of applySetters(doc.clone(), {}).references) {
        const list = uses.get(ref.setter) ?? [];
        list.push(`${file}: ${ref.path}`);
        uses.set(ref.setter, list);
      }
      const obj = plain(doc);
      if (obj["kind"] === "Service" && !isLocalConfig(obj)) {
        // Ports as the defaults render them.
        const rendered = doc.clone();
        applySetters(rendered, Object.fromEntries(defaults));
        const svc = plain(rendered);
        const ports = ((svc["spec"] as { ports?: unknown } | undefined)?.ports ?? []) as {
          port?: unknown;
          protocol?: unknown;
        }[];
        for (const p of ports) {
          if (typeof p.port === "number")
            exposes.push({
              service: String((svc["metadata"] as { name?: unknown }).name),
              port: p.port,
              protocol: String(p.protocol ?? "TCP"),
            });
        }
      }
    }
  }
  const setters: SetterInfo[] = [...uses.keys()].sort().map((s) => {
    const info: SetterInfo = { name: s, required: !defaults.has(s), uses: uses.get(s) as string[] };
    const d = defaults.get(s);
    if (d !== undefined) info.default = d;
    return info;
  });
  const prerequisites = (ann["camino.io/prerequisites"] ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const [kind, ...rest] = p.split("/");
      if (!kind || rest.length === 0)
        throw new BlueprintError(path, `prerequisite ${JSON.stringify(p)} must be Kind/name`);
      return { kind, name: rest.join("/") };
    });
  const info = (kptfile["info"] ?? {}) as { description?: unknown };
  const blueprint: Blueprint = {
    name,
    path,
    description: typeof info.description === "string" ? info.description : "",
    exported: ann["camino.io/exported"] === "true",
    role: ann["camino.io/role"] ?? "",
    prerequisites,
    setters,
    exposes,
    defaultResources: {
      ...(defaults.has("cpu") ? { cpu: defaults.get("cpu") as string } : {}),
      ...(defaults.has("memory") ? { memory: defaults.get("memory") as string } : {}),
    },
    files,
    defaults: Object.fromEntries(defaults),
    resources,
  };
  if (settersFile) blueprint.settersFile = settersFile;
  return blueprint;
}
