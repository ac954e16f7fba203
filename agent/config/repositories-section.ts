/** The `repositories` section of the agent config: repositories the agent makes sure are registered at start. */
import { join, resolve } from "node:path";
import { dns1123LabelProblem } from "../../common/names.js";
import { joinPath, type Checker } from "../../common/checker.js";

/** A repository named in the config. */
export interface ConfiguredRepository {
  /** DNS-1123 label, unique among the configured repositories. Required. */
  name: string;
  /** Required. */
  role: "blueprint" | "deployment";
  /**
   * An http(s) URL, or a local folder (absolute). Default `<dataDir>/repos/<name>`: a local repository the agent
   * creates under its data directory.
   */
  url: string;
  /** Default main ({@link REPOSITORY_DEFAULTS}). */
  branch: string;
  /** The edge a deployment repository serves: required for one, refused for a blueprint repository. */
  edge?: string;
  /** A file holding the token or user:password for a remote, absolute. Absent: no credentials are sent. */
  credentialsFile?: string;
  /** For a new local blueprint repository: a folder of kpt packages to seed it with (tagged v1). Absent: empty. */
  seedFrom?: string;
}

/** Defaults of each entry of the `repositories` section (the URL defaults to a folder under the data directory). */
export const REPOSITORY_DEFAULTS = {
  branch: "main",
  /** A repository without a URL lives in this subfolder of the data directory, in a folder named after it. */
  localFolder: "repos",
} as const;

/** What the `repositories` section needs from outside it. */
export interface RepositoriesSectionContext {
  /** The folder relative paths are resolved against. */
  baseDir: string;
  /** The domain's data directory (absolute): local repositories without a URL live under it. */
  dataDir: string;
}

/** Checks the `repositories` section; problems are added to `c` with their paths. */
export function parseRepositoriesSection(
  c: Checker,
  v: unknown,
  ctx: RepositoriesSectionContext,
): ConfiguredRepository[] {
  const names = new Set<string>();
  return c.list(v, "repositories", 64).flatMap((raw, i) => {
    const path = `repositories[${i}]`;
    const o = c.object(raw, path, ["name", "role", "url", "branch", "edge", "credentialsFile", "seedFrom"]);
    if (!o) return [];
    const name = c.string(o["name"], joinPath(path, "name"), { required: true, max: 63, check: dns1123LabelProblem });
    const role = c.oneOf<"blueprint" | "deployment">(
      o["role"],
      joinPath(path, "role"),
      ["blueprint", "deployment"],
      true,
    );
    const url = c.string(o["url"], joinPath(path, "url"), { max: 2048 });
    const branch = c.string(o["branch"], joinPath(path, "branch"), { max: 128 }) ?? REPOSITORY_DEFAULTS.branch;
    const edge = c.string(o["edge"], joinPath(path, "edge"), { max: 63, check: dns1123LabelProblem });
    const credentialsFile = c.string(o["credentialsFile"], joinPath(path, "credentialsFile"), { max: 4096 });
    const seedFrom = c.string(o["seedFrom"], joinPath(path, "seedFrom"), { max: 4096 });
    if (role === "deployment" && !edge) c.add(joinPath(path, "edge"), "is required for a deployment repository");
    if (role === "blueprint" && edge) c.add(joinPath(path, "edge"), "only a deployment repository serves an edge");
    if (seedFrom && role !== "blueprint") c.add(joinPath(path, "seedFrom"), "only a blueprint repository is seeded");
    if (name && names.has(name)) c.add(joinPath(path, "name"), `${JSON.stringify(name)} is used twice`);
    if (!name || !role) return [];
    names.add(name);
    const out: ConfiguredRepository = {
      name,
      role,
      url: !url
        ? join(ctx.dataDir, REPOSITORY_DEFAULTS.localFolder, name)
        : /^https?:\/\//.test(url)
          ? url
          : resolve(ctx.baseDir, url),
      branch,
    };
    if (edge) out.edge = edge;
    if (credentialsFile) out.credentialsFile = resolve(ctx.baseDir, credentialsFile);
    if (seedFrom) out.seedFrom = resolve(ctx.baseDir, seedFrom);
    return [out];
  });
}
