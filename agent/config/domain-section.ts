/** The `domain` section of the agent config: who this agent is and where it keeps its state. */
import { resolve } from "node:path";
import { dns1123LabelProblem } from "../../common/names.js";
import type { Checker } from "../../common/checker.js";
import { httpUrlProblem } from "./http-url.js";

/** The `domain` section, parsed. */
export interface DomainConfig {
  /** DNS-1123 label, e.g. "domain-x". Required. */
  id: string;
  /**
   * Where the agent keeps its state, absolute. Default `<stateRoot>/<id>` ({@link DOMAIN_DEFAULTS}: `.camino/<id>`),
   * resolved against the config file's folder.
   */
  dataDir: string;
  /**
   * The API endpoint advertised to users and peers. Absent: the gRPC listener's URL, which the agent learns only
   * once it listens (port 0 picks a free port), so it is not filled in here.
   */
  endpoint?: string;
}

/** Defaults of the `domain` section. */
export const DOMAIN_DEFAULTS = {
  /** The data directory defaults to this folder's subfolder named after the domain id. */
  stateRoot: ".camino",
} as const;

/**
 * Checks the `domain` section; problems are added to `c` with their paths.
 * @param base the folder relative paths are resolved against
 */
export function parseDomainSection(c: Checker, v: unknown, base: string): DomainConfig {
  const d = c.object(v, "domain", ["id", "dataDir", "endpoint"]) ?? {};
  const id = c.string(d["id"], "domain.id", { required: true, max: 63, check: dns1123LabelProblem }) ?? "";
  const dataDir = c.string(d["dataDir"], "domain.dataDir", { max: 4096 });
  const endpoint = c.string(d["endpoint"], "domain.endpoint", { max: 2048, check: httpUrlProblem });
  // With a bad id the config is refused anyway; "domain" only keeps the path well-formed meanwhile.
  const out: DomainConfig = { id, dataDir: resolve(base, dataDir ?? `${DOMAIN_DEFAULTS.stateRoot}/${id || "domain"}`) };
  if (endpoint) out.endpoint = endpoint;
  return out;
}
