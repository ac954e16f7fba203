/**
 * One domain of `npm start`, as its own process: the domain's agent from its example config, with its edges
 * emulated in-process (no Kubernetes on these machines; their RootSyncs follow the agent's deployment
 * repositories). When it listens it writes one JSON line on stdout, `{"ready": {...}}`, with its addresses;
 * its logs go to stderr. SIGINT or SIGTERM stops the agent and the edges gracefully.
 *
 * Usage: node dist/scripts/domain.js CONFIG EDGE[,EDGE…] FIRST-EDGE-INDEX
 */
import { startAgent } from "../agent/agent.js";
import { loadConfig } from "../agent/config/config.js";
import { createLogger } from "../agent/log/logger.js";
import { startEmulator, type Emulator } from "../emulator/emulator.js";

async function run(): Promise<void> {
  const [configFile, edgeList, firstIndex] = process.argv.slice(2);
  if (!configFile || !edgeList) throw new Error("usage: domain.js CONFIG EDGE[,EDGE…] FIRST-EDGE-INDEX");
  const config = await loadConfig(configFile);
  const first = Number(firstIndex ?? 0);
  const edges: Emulator[] = await Promise.all(
    edgeList.split(",").map((name, i) =>
      startEmulator({
        name,
        http: { port: 0 },
        // kube-state-metrics and cAdvisor, which the agent's Monitoring Service scrapes.
        metrics: { port: 0 },
        eastWest: { address: `192.0.2.${10 + first + i}`, network: `network-${first + i + 1}` },
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
      labels: { zone: (first + i) % 2 === 0 ? "north" : "south" },
      repository: `${e.name}-deploy`,
      timeoutMs: 5000,
      syncPeriod: "500ms",
    }));
  }
  if (config.monitoring.scrape.length === 0) {
    config.monitoring.scrape = edges.map((e) => ({
      edge: e.name,
      kubeStateMetrics: `${e.metricsUrl}/metrics`,
      cadvisor: `${e.metricsUrl}/metrics/cadvisor`,
    }));
  }
  const logger = createLogger({ level: config.log.level, format: "text" });
  const agent = await startAgent({ config, logger });
  process.stdout.write(
    `${JSON.stringify({
      ready: {
        domain: agent.domainId,
        grpc: agent.grpcUrl,
        http: agent.httpUrl,
        federation: agent.federationUrl ?? "",
        edges: edges.map((e) => ({ name: e.name, url: e.httpUrl })),
      },
    })}\n`,
  );
  await new Promise<void>((resolve) => {
    // Ctrl-C reaches this process from the terminal and from `npm start` both: stop once.
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void agent
        .close()
        .then(() => Promise.all(edges.map((e) => e.close())))
        .then(() => resolve());
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    process.on("SIGHUP", () => {
      loadConfig(configFile)
        .then((next) => agent.reload(next))
        .catch((err: unknown) => logger.warn("SIGHUP: config not applied", { error: String(err) }));
    });
  });
}

run().catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  process.stderr.write(`${JSON.stringify({ failed: { code: e.code ?? "", message: e.message ?? String(err) } })}\n`);
  process.exitCode = 1;
});
