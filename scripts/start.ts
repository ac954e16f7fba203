/**
 * `npm start`: the embedded default, two domains that trust each other. domain-x (edges edge-1 and edge-2) and
 * domain-y (edge-3) each run as their own process (scripts/domain.ts: an agent from deploy/examples/domain-*.yaml
 * with its edges emulated in-process), on their own ports, with their own signing keys and certificates (made
 * on first run under .camino/). Once each sees the other as a peer, it submits the paper's chain
 * (scenarios/paper-chain.yaml: cnf1 and cnf2 on edge-1, cnf4 on edge-2, cnf3 in domain-y as a cross-domain
 * segment) through domain-x's API and shows every state change until READY, the segment's progress in domain-y
 * among them. Then it prints where each CNF runs and how each link is wired (scripts/chain-summary.ts), writes
 * the chain's picture to .camino/paper-chain.svg, and prints where everything listens, which peers each domain
 * sees and how to call both. A second run with .camino/ kept finds the intent unchanged: SubmitIntent answers
 * noOp, and it shows that domain-y received no ProposeSegment. Ctrl-C stops both domains gracefully.
 */
import { agentEnvironment } from "../agent/util/allocator.js";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DomainManager, type SubmitIntentResponse } from "../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, type Peer } from "../gen/camino/v1/types_pb.js";
import { type AgentConfig, loadConfig } from "../agent/config/config.js";
import { ensureDomainPki } from "../agent/auth/domain-pki.js";
import { generateSigningKey, loadSigningKey, writeKeyFiles } from "../agent/auth/keys.js";
import { loadKeyRing } from "../agent/auth/key-ring.js";
import { mintNorthboundToken } from "../agent/auth/token.js";
import { describeFailure } from "../agent/cli/exit-codes.js";
import { renderSvg } from "../agent/graph/render-svg.js";
import { intentToMessage, parseIntentText } from "../agent/intent/load.js";
import type { Intent } from "../agent/intent/model.js";
import { ConfigError } from "../agent/errors.js";
import { readChainSummary, renderChainSummary, type SummarySegment } from "./chain-summary.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const scenario = "scenarios/paper-chain.yaml";
/** Where the deployed chain's picture is written, under the demo's state. */
const GRAPH_FILE = ".camino/paper-chain.svg";
const DOMAINS = [
  { config: "deploy/examples/domain-x.yaml", edges: ["edge-1", "edge-2"], firstEdge: 0 },
  { config: "deploy/examples/domain-y.yaml", edges: ["edge-3"], firstEdge: 2 },
];

interface Ready {
  domain: string;
  grpc: string;
  http: string;
  federation: string;
  edges: { name: string; url: string }[];
}

interface Domain {
  configFile: string;
  config: AgentConfig;
  child: ChildProcess;
  ready: Ready;
  token: string;
}

/** Makes the domain's signing key and its federation certificates, once. */
async function prepare(config: AgentConfig): Promise<void> {
  try {
    await loadSigningKey(config.auth.signingKeyFile);
  } catch {
    const key = await generateSigningKey();
    await writeKeyFiles(key, {
      keyFile: config.auth.signingKeyFile,
      jwksFile: config.auth.signingKeyFile.replace(/\.jwk$/, ".jwks.json"),
    });
    console.log(`made ${config.domain.id}'s signing key: ${config.auth.signingKeyFile}`);
  }
  const fed = config.federation;
  if (fed) {
    await ensureDomainPki({
      dir: dirname(fed.tls.certFile),
      domainId: config.domain.id,
      hosts: ["127.0.0.1", "localhost"],
      trustDomain: fed.trustDomain,
    });
  }
}

/** Starts one domain's process and resolves with its addresses once it listens. */
function launch(
  configFile: string,
  edges: string[],
  firstEdge: number,
): { child: ChildProcess; ready: Promise<Ready> } {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL("domain.js", import.meta.url)), configFile, edges.join(","), String(firstEdge)],
    { stdio: ["ignore", "pipe", "pipe"], env: agentEnvironment(process.env).env },
  );
  const name = configFile.replace(/^.*\/|\.yaml$/g, "");
  const ready = new Promise<Ready>((resolve, reject) => {
    let failure = "";
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => {
      if (line.startsWith('{"failed"')) {
        const f = (JSON.parse(line) as { failed: { code: string; message: string } }).failed;
        failure = f.message;
        if (f.code === "ERR_ADDRESS_IN_USE") failure += "\n  (another process holds the port: a previous npm start?)";
        return;
      }
      process.stderr.write(`[${name}] ${line}\n`);
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      if (line.startsWith('{"ready"')) resolve((JSON.parse(line) as { ready: Ready }).ready);
      else process.stdout.write(`[${name}] ${line}\n`);
    });
    child.once("exit", (code) => reject(new Error(`${name} stopped (exit ${code}) before it listened: ${failure}`)));
  });
  return { child, ready };
}

/** Waits (bounded) until `domain` sees every peer of its trust list up. */
async function peersUp(d: Domain): Promise<Peer[]> {
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: d.ready.grpc }));
  const headers = { authorization: `Bearer ${d.token}` };
  const end = Date.now() + 20_000;
  for (;;) {
    const { peers } = await client.listPeers({}, { headers, timeoutMs: 5000 });
    if (peers.every((p) => p.reachable && !p.lastError) || Date.now() > end) return peers;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A DomainManager client of a domain's gRPC address. */
function clientOf(d: Domain): Client<typeof DomainManager> {
  return createClient(DomainManager, createGrpcTransport({ baseUrl: d.ready.grpc }));
}

/**
 * Submits the intent to `x` and prints every state change (the segments' own among them) until it settles.
 * @returns SubmitIntent's answer and the intent's final state and reason
 */
async function deploy(x: Domain, intent: Intent): Promise<{ submitted: SubmitIntentResponse; final: string }> {
  const client = clientOf(x);
  const headers = { authorization: `Bearer ${x.token}` };
  const started = Date.now();
  const submitted = await client.submitIntent({ intent: intentToMessage(intent) }, { headers, timeoutMs: 10_000 });
  console.log(
    `submitted ${scenario} to ${x.ready.domain}: deployment ${submitted.deploymentId}${submitted.noOp ? " — noOp: unchanged since the last run, nothing to deploy (its current state follows)" : ""}`,
  );
  let final = "";
  for await (const { event } of client.watchDeployment({ name: submitted.deploymentId }, { headers })) {
    if (!event) continue;
    const state = DeploymentState[event.state];
    const t = ((Date.now() - started) / 1000).toFixed(2).padStart(6);
    console.log(
      `  ${t}s  ${(event.package || "intent").padEnd(6)} ${event.wave ? `wave ${event.wave}` : "      "}  ${state.padEnd(11)} ${event.reason}`,
    );
    if (!event.package) final = `${state}: ${event.reason}`;
  }
  return { submitted, final };
}

/**
 * Where each CNF runs and how each link is wired, as text, with the chain's picture written to GRAPH_FILE; a
 * summary that cannot be read is reported, not fatal: the domains keep running.
 */
async function summarize(
  domains: readonly Domain[],
  x: Domain,
  intent: Intent,
): Promise<{ text: string; segments: readonly SummarySegment[] }> {
  try {
    const summary = await readChainSummary({
      intent,
      origin: x.ready.domain,
      agents: new Map(domains.map((d) => [d.ready.domain, { client: clientOf(d), token: d.token }])),
      edges: new Map(domains.flatMap((d) => d.ready.edges.map((e) => [e.name, e.url] as const))),
      timeoutMs: 5000,
    });
    await writeFile(GRAPH_FILE, renderSvg(summary.graph));
    const picture = `The chain as a picture: ${GRAPH_FILE} (SVG; ./bin/camino.js intent graph ${intent.name} draws ${x.ready.domain}'s view of it, --format mermaid|dot)`;
    return { text: `${renderChainSummary(summary)}\n${picture}`, segments: summary.segments };
  } catch (err) {
    return { text: `(no summary of the chain: ${describeFailure(err).message})`, segments: [] };
  }
}

/**
 * How many ProposeSegment calls a domain has answered since it started, from its /metrics (the federation
 * listener's RPCs are counted there, by method); undefined when the metrics cannot be read.
 */
async function proposalsReceived(d: Domain): Promise<{ domain: string; count: number | undefined }> {
  try {
    const res = await fetch(`${d.ready.http}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let count = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith("camino_rpc_calls_total{") && line.includes('method="ProposeSegment"'))
        count += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return { domain: d.ready.domain, count };
  } catch {
    return { domain: d.ready.domain, count: undefined };
  }
}

/** What an unchanged re-submission did on each domain: nothing, and how the peers show it. */
function noOpText(
  x: Domain,
  deploymentId: string,
  segments: readonly SummarySegment[],
  proposals: readonly { domain: string; count: number | undefined }[],
): string {
  const peers = proposals.map((p) => {
    const segment = segments.find((s) => s.domain === p.domain);
    const calls =
      p.count === undefined
        ? "(its /metrics could not be read)"
        : `received ${p.count === 0 ? "no" : p.count} ProposeSegment call${p.count === 1 ? "" : "s"} since it started`;
    const kept = segment ? `; segment ${segment.id} stays at generation ${segment.generation}, ${segment.phase}` : "";
    return `  ${p.domain} ${calls}${kept}`;
  });
  return [
    "No-op on both domains: the intent is unchanged since the last run (SubmitIntent answered noOp).",
    `  ${x.ready.domain} keeps deployment ${deploymentId}, nothing redeployed`,
    ...peers,
  ].join("\n");
}

/** A domain's addresses, edges and the peers it sees. */
function describe(d: Domain, peers: readonly Peer[]): string {
  const edges = d.ready.edges
    .map(
      (e) => `    ${e.name}: emulated cluster at ${e.url}  (KUBECONFIG=/dev/null kubectl --server ${e.url} get nodes)`,
    )
    .join("\n");
  const peerLines = peers
    .map(
      (p) =>
        `    ${p.id}: ${p.reachable && !p.lastError ? `up, ${p.roundTripMs.toFixed(1)} ms, ${p.exportedBlueprints} exported blueprints, keys ${p.keyIds.map((k) => k.slice(0, 8)).join(",")}` : `down: ${p.lastError}`}`,
    )
    .join("\n");
  return `${d.ready.domain} (${d.configFile}):
  gRPC (HTTP/2, h2c):  ${d.ready.grpc}
  HTTP/1.1:            ${d.ready.http}   (Connect, gRPC-Web, ${d.ready.http}/metrics)
  federation (TLS):    ${d.ready.federation}
  edges:
${edges}
  peers it sees:
${peerLines || "    (none)"}`;
}

/** How to call both domains from another terminal while the demo runs. */
function hints(domains: readonly Domain[], intent: string, segments: readonly SummarySegment[]): string {
  const [x, y] = domains as [Domain, Domain];
  const cmd = "./bin/camino.js";
  // The deployment that runs the segment on domain-y, named after the origin's intent and domain.
  const segment = segments.find((s) => s.domain === y.ready.domain)?.namespace ?? `${intent}-${x.ready.domain}`;
  return `Call ${x.ready.domain} from another terminal:
  export CAMINO_TOKEN=$(${cmd} token --config ${x.configFile} --scope intents:write,intents:read,catalogue:read,repos:admin,monitoring:read,monitoring:detail)
  ${cmd} intent ls
  ${cmd} intent get ${intent}
  ${cmd} segment ls                      # the segment it placed in ${y.ready.domain} (ROLE origin)
  ${cmd} intent plan ${scenario}
  ${cmd} intent graph ${intent} --format mermaid
  ${cmd} peers ls
  ${cmd} catalogue --peers
  ${cmd} edge ls
  ${cmd} top
  ${cmd} alerts
  npx buf curl --protocol grpc --http2-prior-knowledge --list-methods ${x.ready.grpc}
Call ${y.ready.domain}, which runs ${x.ready.domain}'s segment as its deployment ${segment}:
  export Y_TOKEN=$(${cmd} token --config ${y.configFile} --scope intents:read,catalogue:read,monitoring:read,monitoring:detail)
  ${cmd} segment ls --server ${y.ready.grpc} --token "$Y_TOKEN"      # ROLE host, PEER ${x.ready.domain}
  ${cmd} intent ls --server ${y.ready.grpc} --token "$Y_TOKEN"       # ${segment} (segment of ${x.ready.domain})
  ${cmd} intent get ${segment} --server ${y.ready.grpc} --token "$Y_TOKEN"
  ${cmd} edge ls --server ${y.ready.grpc} --token "$Y_TOKEN"`;
}

async function run(): Promise<void> {
  process.chdir(root);
  const configs = await Promise.all(DOMAINS.map((d) => loadConfig(d.config)));
  for (const c of configs) await prepare(c);

  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping both domains…");
    for (const c of children) c.kill("SIGTERM");
  };
  process.on("SIGINT", stopAll);
  process.on("SIGTERM", stopAll);
  const exited = (c: ChildProcess) =>
    new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));

  const domains: Domain[] = [];
  try {
    const launched = DOMAINS.map((d) => launch(d.config, d.edges, d.firstEdge));
    children.push(...launched.map((l) => l.child));
    const started = await Promise.all(launched.map(async (l) => ({ child: l.child, ready: await l.ready })));
    for (const [i, { child, ready }] of started.entries()) {
      const config = configs[i] as AgentConfig;
      const key = (await loadKeyRing({ keyFile: config.auth.signingKeyFile, readOnly: true })).current();
      const token = await mintNorthboundToken({
        key,
        issuer: config.domain.id,
        audience: config.auth.audience,
        subject: "npm-start",
        scopes: ["intents:write", "intents:read", "catalogue:read"],
        ttlSeconds: 600,
      });
      domains.push({ configFile: DOMAINS[i]?.config as string, config, child, ready, token });
    }
  } catch (err) {
    stopAll();
    await Promise.all(children.map(exited));
    throw err;
  }
  const [x] = domains as [Domain, Domain];
  const seen = await Promise.all(domains.map(peersUp));

  // Show domain-x at work: deploy the chain through its public API.
  const intent = parseIntentText(await readFile(scenario, "utf8"));
  const { submitted, final } = await deploy(x, intent);
  const summary = await summarize(domains, x, intent);
  const proposals = await Promise.all(domains.filter((d) => d !== x).map((d) => proposalsReceived(d)));

  console.log(`
CAMINO: two domains are running, each in its own process, trusting each other.
${domains.map((d, i) => describe(d, seen[i] ?? [])).join("\n")}

Deployed ${scenario} in ${x.ready.domain} (intent ${intent.name}): ${final}
${submitted.noOp ? `${noOpText(x, submitted.deploymentId, summary.segments, proposals)}\n` : ""}
${summary.text}

${hints(domains, intent.name, summary.segments)}

Ctrl-C stops both domains.`);

  await Promise.all(children.map(exited));
}

run().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`npm start: ${err.message}`);
  else console.error(`npm start: ${describeFailure(err).message}`);
  process.exitCode = 1;
});
