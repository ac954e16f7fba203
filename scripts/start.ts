/**
 * `npm start`: the embedded default, two domains that trust each other. domain-x (edges edge-1 and edge-2) and
 * domain-y (edge-3) each run as their own process (scripts/domain.ts: an agent from deploy/examples/domain-*.yaml
 * with its edges emulated in-process), on their own ports, with their own signing keys and certificates (made
 * on first run under .camino/). Once each sees the other as a peer, it submits the paper's chain kept inside
 * domain-x (scenarios/chain-one-domain.yaml) through domain-x's API, shows every state change until READY, and
 * prints where everything listens and which peers each domain sees. Ctrl-C stops both domains gracefully.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DomainManager } from "../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, type Peer } from "../gen/camino/v1/types_pb.js";
import { type AgentConfig, loadConfig } from "../agent/config/config.js";
import { ensureDomainPki } from "../agent/auth/domain-pki.js";
import { generateSigningKey, loadSigningKey, writeKeyFiles } from "../agent/auth/keys.js";
import { loadKeyRing } from "../agent/auth/key-ring.js";
import { mintNorthboundToken } from "../agent/auth/token.js";
import { describeFailure } from "../agent/cli/exit-codes.js";
import { intentToMessage, parseIntentText } from "../agent/intent/load.js";
import { ConfigError } from "../agent/errors.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const scenario = "scenarios/paper-chain.yaml";
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
    { stdio: ["ignore", "pipe", "pipe"] },
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
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: x.ready.grpc }));
  const headers = { authorization: `Bearer ${x.token}` };
  const intent = parseIntentText(await readFile(scenario, "utf8"));
  const started = Date.now();
  const submitted = await client.submitIntent({ intent: intentToMessage(intent) }, { headers, timeoutMs: 10_000 });
  console.log(
    `submitted ${scenario} to ${x.ready.domain}: deployment ${submitted.deploymentId}${submitted.noOp ? " (unchanged since the last run: nothing to do)" : ""}`,
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
  const { deployment } = await client.getDeployment({ name: intent.name }, { headers, timeoutMs: 5000 });
  const placements = (deployment?.packages ?? []).map((p) => `${p.package} -> ${p.edge}`).join(", ");

  const cmd = "./bin/camino.js";
  const describe = (d: Domain, peers: Peer[]) => {
    const edges = d.ready.edges
      .map(
        (e) =>
          `    ${e.name}: emulated cluster at ${e.url}  (KUBECONFIG=/dev/null kubectl --server ${e.url} get nodes)`,
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
  };
  console.log(`
CAMINO: two domains are running, each in its own process, trusting each other.
${domains.map((d, i) => describe(d, seen[i] ?? [])).join("\n")}

Deployed ${scenario} in ${x.ready.domain} (intent ${intent.name}): ${final}
  placement: ${placements}

Call domain-x from another terminal:
  export CAMINO_TOKEN=$(${cmd} token --config ${x.configFile} --scope intents:write,intents:read,catalogue:read,repos:admin,monitoring:read,monitoring:detail)
  ${cmd} intent get ${intent.name}
  ${cmd} intent plan ${scenario}
  ${cmd} peers ls
  ${cmd} catalogue --peers
  ${cmd} edge ls
  ${cmd} top
  ${cmd} alerts
  npx buf curl --protocol grpc --http2-prior-knowledge --list-methods ${x.ready.grpc}
domain-y answers the same way: --server ${domains[1]?.ready.grpc} with a token from --config ${domains[1]?.configFile}.

Ctrl-C stops both domains.`);

  await Promise.all(children.map(exited));
}

run().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`npm start: ${err.message}`);
  else console.error(`npm start: ${describeFailure(err).message}`);
  process.exitCode = 1;
});
