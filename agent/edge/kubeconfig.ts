/**
 * The KubeConfig of one configured edge: a context of a kubeconfig file (as for a real cluster), or an inline
 * server URL with a CA file and a bearer-token file. Nothing here talks to the edge; a file that cannot be read
 * is refused without quoting it, since a kubeconfig holds tokens.
 */
import { readFile } from "node:fs/promises";
import { KubeConfig } from "@kubernetes/client-node";
import type { ConfiguredEdge } from "../config/config.js";
import { CaminoError } from "../errors.js";

/**
 * Builds the KubeConfig for `edge`, with its context current.
 * @throws CaminoError `ERR_CONFIG_INVALID` for an unreadable or malformed file, or a context without a cluster
 * @example const kc = await kubeConfigFor({ name: "edge-1", server: "https://10.0.0.1:6443", caFile, tokenFile, labels: {}, timeoutMs: 10_000 });
 */
export async function kubeConfigFor(edge: ConfiguredEdge): Promise<KubeConfig> {
  return edge.kubeconfig ? fromFile(edge, edge.kubeconfig) : fromInline(edge);
}

function fromFile(edge: ConfiguredEdge, source: { file: string; context?: string }): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(source.file);
  } catch (err) {
    // The parser's message may quote lines of the file (tokens included): only the file and line are said.
    const line = /line (\d+)/.exec(String((err as Error).message))?.[1];
    throw new CaminoError(
      "ERR_CONFIG_INVALID",
      `edges: kubeconfig ${source.file} of ${edge.name} cannot be read${line ? ` (line ${line})` : ""}`,
    );
  }
  const context = source.context ?? kc.getCurrentContext();
  if (!kc.getContextObject(context) || !kc.getCurrentCluster()) {
    throw new CaminoError(
      "ERR_CONFIG_INVALID",
      `edges: kubeconfig ${source.file} of ${edge.name} has no context ${JSON.stringify(context)} with a cluster`,
    );
  }
  kc.setCurrentContext(context);
  return kc;
}

async function fromInline(edge: ConfiguredEdge): Promise<KubeConfig> {
  const ca = await readTrimmed(edge, edge.caFile, "caFile");
  const token = await readTrimmed(edge, edge.tokenFile, "tokenFile");
  const server = edge.server as string;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: edge.name,
        server,
        ...(ca ? { caData: Buffer.from(ca).toString("base64") } : {}),
        skipTLSVerify: server.startsWith("http://"),
      },
    ],
    users: [{ name: edge.name, ...(token ? { token } : {}) }],
    contexts: [{ name: edge.name, cluster: edge.name, user: edge.name }],
    currentContext: edge.name,
  });
  return kc;
}

async function readTrimmed(edge: ConfiguredEdge, file: string | undefined, what: string): Promise<string | undefined> {
  if (!file) return undefined;
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (err) {
    throw new CaminoError(
      "ERR_CONFIG_INVALID",
      `edges: ${what} of ${edge.name} cannot be read (${(err as NodeJS.ErrnoException).code})`,
      { cause: err },
    );
  }
}
