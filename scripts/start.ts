/**
 * `npm start`: the embedded default. Today that is one agent (domain-x) with the example config and two
 * emulated edges (edge-1, edge-2) in-process, whose RootSyncs the agent points at its deployment repositories;
 * it makes the domain's signing key on first run, submits the paper's chain kept inside one domain
 * (scenarios/chain-one-domain.yaml) through the API, shows every state change until it is READY, and prints
 * where everything listens and how to call it. Ctrl-C stops it gracefully.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DomainManager } from "../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState } from "../gen/camino/v1/types_pb.js";
import { startAgent } from "../agent/agent.js";
import { loadConfig } from "../agent/config/config.js";
import { generateSigningKey, loadSigningKey, writeKeyFiles } from "../agent/auth/keys.js";
import { mintNorthboundToken } from "../agent/auth/token.js";
import { describeFailure } from "../agent/cli/exit-codes.js";
import { intentToMessage, parseIntentText } from "../agent/intent/load.js";
import { createLogger } from "../agent/log/logger.js";
import { ConfigError } from "../agent/errors.js";
import { startEmulator, type Emulator } from "../emulator/emulator.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const configFile = "deploy/examples/domain-x.yaml";
const scenario = "scenarios/chain-one-domain.yaml";

async function run(): Promise<void> {
  process.chdir(root);
  const config = await loadConfig(configFile);
  try {
    await loadSigningKey(config.auth.signingKeyFile);
  } catch {
    const key = await generateSigningKey();
    await writeKeyFiles(key, {
      keyFile: config.auth.signingKeyFile,
      jwksFile: config.auth.signingKeyFile.replace(/\.jwk$/, ".jwks.json"),
    });
    console.log(`made the domain's signing key: ${config.auth.signingKeyFile}`);
  }
  // Two emulated edges stand in for the domain's clusters (no Kubernetes on these machines).
  const edges: Emulator[] = await Promise.all(
    ["edge-1", "edge-2"].map((name, i) =>
      startEmulator({
        name,
        http: { port: 0 },
        eastWest: { address: `192.0.2.${10 + i}`, network: `network-${i + 1}` },
        nodes: [
          { name: `${name}-node-1`, cpu: "4", memory: "8Gi" },
          { name: `${name}-node-2`, cpu: "4", memory: "8Gi" },
        ],
      }),
    ),
  );
  if (config.edges.length === 0) {
    config.edges = edges.map((e, i) => ({
      name: e.name,
      server: e.httpUrl as string,
      labels: { zone: i === 0 ? "north" : "south" },
      repository: `${e.name}-deploy`,
      timeoutMs: 5000,
      syncPeriod: "500ms",
    }));
  }
  const agent = await startAgent({ config, logger: createLogger({ level: config.log.level, format: "text" }) });

  // Show the agent at work: deploy the chain through the public API, with a short-lived token.
  const key = await loadSigningKey(config.auth.signingKeyFile);
  const token = await mintNorthboundToken({
    key,
    issuer: config.domain.id,
    audience: config.auth.audience,
    subject: "npm-start",
    scopes: ["intents:write", "intents:read"],
    ttlSeconds: 300,
  });
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  const headers = { authorization: `Bearer ${token}` };
  const intent = parseIntentText(await readFile(scenario, "utf8"));
  const started = Date.now();
  const submitted = await client.submitIntent({ intent: intentToMessage(intent) }, { headers, timeoutMs: 10_000 });
  console.log(
    `submitted ${scenario}: deployment ${submitted.deploymentId}${submitted.noOp ? " (unchanged since the last run: nothing to do)" : ""}`,
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
  const edgeLines = edges
    .map(
      (e) =>
        `  ${e.name}: emulated cluster at ${e.httpUrl}  (KUBECONFIG=/dev/null kubectl --server ${e.httpUrl} get nodes)`,
    )
    .join("\n");
  console.log(`
CAMINO agent for ${config.domain.id} is running.
  gRPC (HTTP/2, h2c):  ${agent.grpcUrl}
  HTTP/1.1:            ${agent.httpUrl}   (Connect, gRPC-Web, ${agent.httpUrl}/metrics)
Edges (their RootSyncs follow the deployment repositories under .camino/domain-x/repos/):
${edgeLines}

Deployed ${scenario} (intent ${intent.name}): ${final}
  placement: ${placements}

Call it from another terminal:
  export CAMINO_TOKEN=$(${cmd} token --config ${configFile} --scope intents:write,intents:read,catalogue:read,repos:admin)
  ${cmd} intent plan ${scenario}
  ${cmd} intent get ${intent.name}
  ${cmd} intent watch ${intent.name} --since 10m
  ${cmd} catalogue
  ${cmd} repo ls
  ${cmd} edge ls
  ${cmd} health
  npx buf curl --protocol grpc --http2-prior-knowledge --list-methods ${agent.grpcUrl}
  npx buf curl --protocol grpc --http2-prior-knowledge -H "Authorization: Bearer $CAMINO_TOKEN" \\
    ${agent.grpcUrl}/camino.v1.DomainManager/GetDomainInfo

Ctrl-C stops it.`);

  await new Promise<void>((resolve) => {
    const stop = () =>
      void agent
        .close()
        .then(() => Promise.all(edges.map((e) => e.close())))
        .then(() => resolve());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

run().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`npm start: ${err.message}`);
  else {
    const { message } = describeFailure(err);
    console.error(`npm start: ${message}`);
    if ((err as { code?: string }).code === "ERR_ADDRESS_IN_USE") {
      console.error(
        "Another process holds the port; stop it, or choose others: CAMINO_GRPC_PORT=50061 CAMINO_HTTP_PORT=8090 npm start",
      );
    }
  }
  process.exitCode = 1;
});
