/**
 * Network units (link-units.ts, cross-domain.ts) to files: each unit's blueprint, resolved in the catalogue, is
 * hydrated like any package (agent/cad/hydrate.ts: setters applied strictly, namespace and `camino.io/*` labels
 * set, every object checked against the Kubernetes and Istio schemas, a Kptfile and the IESD kept as local
 * config) into `<intent>/_chain/<folder>/` of its edge's repository.
 */
import type { ResolvedBlueprint } from "../cad/catalogue.js";
import { ValidationError, type FieldIssue } from "../errors.js";
import { caminoLabels, type Iesd } from "../cad/iesd.js";
import type { NetworkManagerOptions, NetworkFiles, NetworkObjectRef } from "./network-manager.js";
import type { NetworkUnit } from "./link-units.js";

/** The package name CAMINO gives the chain's wave-0 objects (chain-base's too). */
export const CHAIN_PACKAGE = "chain";

/** A network unit that did not hydrate: a blueprint the domain changed badly, or a value its schema refuses. */
export class NetworkHydrationError extends ValidationError {
  constructor(issues: readonly FieldIssue[]) {
    super("ERR_NETWORK_HYDRATION", "network", issues);
  }
}

/** Where the hydrated units' files go, and what the blueprints are resolved and hydrated with. */
export interface HydrateUnitsInput {
  intent: string;
  revision: number;
  domain: string;
  /** Edge → its deployment repository. */
  repositories: ReadonlyMap<string, string>;
}

/**
 * Hydrates every unit. Files are keyed by edge, then by repository path; objects are listed in file order.
 * `where` overrides the namespace (default the intent's) and the base folder (default `<intent>/_chain`).
 * @throws NetworkHydrationError listing every unit that did not hydrate, with its blueprint and field
 */
export async function hydrateUnits(
  units: readonly NetworkUnit[],
  input: HydrateUnitsInput,
  options: Pick<NetworkManagerOptions, "catalogue" | "hydration">,
  signal?: AbortSignal,
  where: { namespace?: string; base?: string } = {},
): Promise<{ files: NetworkFiles; objects: NetworkObjectRef[] }> {
  const resolved = new Map<string, ResolvedBlueprint>();
  for (const name of new Set(units.map((u) => u.blueprint))) {
    signal?.throwIfAborted();
    resolved.set(name, await options.catalogue.resolve(name));
  }
  const files: NetworkFiles = new Map();
  const objects: NetworkObjectRef[] = [];
  const issues: FieldIssue[] = [];
  const sorted = [...units].sort((a, b) =>
    a.edge !== b.edge ? (a.edge < b.edge ? -1 : 1) : a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0,
  );
  for (const u of sorted) {
    const r = resolved.get(u.blueprint) as ResolvedBlueprint;
    const path = `${where.base ?? `${input.intent}/_chain`}/${u.folder}`;
    const iesd: Iesd = {
      intent: input.intent,
      revision: input.revision,
      package: CHAIN_PACKAGE,
      domain: input.domain,
      edge: u.edge,
      namespace: where.namespace ?? input.intent,
      replicas: 1,
      resources: {},
      labels: caminoLabels({ intent: input.intent, package: CHAIN_PACKAGE, domain: input.domain, edge: u.edge }),
      blueprint: {
        name: r.blueprint.name,
        repository: r.repository.record.name,
        url: r.repository.record.url,
        path: r.blueprint.path,
        revision: r.revision,
        commit: r.commit,
      },
      deployment: { repository: input.repositories.get(u.edge) ?? "", path },
      setters: Object.fromEntries(Object.entries(u.setters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      inputs: [],
    };
    let hydrated: ReturnType<NetworkManagerOptions["hydration"]["hydrate"]>;
    try {
      hydrated = options.hydration.hydrate(r.blueprint, iesd);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      for (const i of err.issues) issues.push({ path: `${u.edge}: ${path}: ${i.path}`, message: i.message });
      continue;
    }
    const edgeFiles = files.get(u.edge) ?? new Map<string, string>();
    files.set(u.edge, edgeFiles);
    for (const [p, text] of hydrated.files) edgeFiles.set(p, text);
    for (const o of hydrated.objects) {
      const meta = (o["metadata"] ?? {}) as { name?: string; namespace?: string };
      objects.push({
        edge: u.edge,
        link: u.link,
        apiVersion: String(o["apiVersion"]),
        kind: String(o["kind"]),
        namespace: meta.namespace ?? "",
        name: meta.name ?? "",
        path,
      });
    }
  }
  if (issues.length > 0) throw new NetworkHydrationError(issues);
  return { files, objects };
}
