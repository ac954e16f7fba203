/**
 * `npm run bench`: the agent's control-plane figures, against a real agent process on loopback.
 *  - PlanIntent (the paper's 4-package chain) next to grpc.health.v1.Health/Check, the floor of the stack
 *    (same server, same transport, same client), sequential and with 50 concurrent callers; the ratio of the
 *    two is the figure to compare across machines, because these machines are noisy.
 *  - Ordering and validating a random 500-package DAG (the intent limit): median.
 *  - …then each area's own benchmark (bench/*.ts), among them the closed loop (bench/closed-loop.ts: the
 *    observer's cost with 1,000 READY packages, pod loss → DEGRADED, an update's commits), flat latency
 *    (bench/flat-latency.ts: an intent's latency with 0, 1,000 and 10,000 deployed) and recovery
 *    (bench/recovery.ts: the journal's cost per intent, restart-to-serving with 1,000 records).
 * Prints a table and writes bench/results/bench-<time>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DomainManager } from "../gen/camino/v1/domain_manager_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { intentToMessage, parseIntentText } from "../agent/intent/load.js";
import { orderPackages, type Orderable } from "../agent/intent/order.js";
import { validateIntent } from "../agent/intent/validate.js";
import { ROOT, startAgentProcess } from "../test/helpers/agent-process.js";
import { runCadBenchmarks } from "./cad.js";
import { closedLoopTable, runClosedLoopBenchmark } from "./closed-loop.js";
import { runSyncBenchmark } from "./configsync.js";
import { runEdgeBenchmark } from "./edges.js";
import { runEmulatorBenchmarks } from "./emulator.js";
import { federationTable, runFederationBenchmark } from "./federation.js";
import { flatLatencyTable, runFlatLatencyBenchmark } from "./flat-latency.js";
import { lifecycleTable, runLifecycleBenchmark } from "./lifecycle.js";
import { formatMonitoringPlaneFigures, runMonitoringPlaneBenchmark } from "./monitoring-plane.js";
import { formatMonitoringSnapshotFigures, runMonitoringSnapshotBenchmark } from "./monitoring.js";
import { formatNetworkFigures, runNetworkBenchmark } from "./network.js";
import { formatPlacementFigures, runPlacementBenchmark } from "./placement.js";
import { runRestBenchmark } from "./emulator-rest.js";
import { recoveryTable, runRecoveryBenchmark } from "./recovery.js";
import { runSegmentsBenchmark, segmentsTable } from "./segments.js";
import { measure, medianOf, type Summary } from "./stats.js";

/** A deterministic pseudo-random DAG of n packages (xorshift, so every run orders the same graph). */
function randomDag(n: number, seed = 42): Orderable[] {
  let x = seed;
  const rand = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const after = new Set<string>();
    const k = i === 0 ? 0 : Math.floor(rand() * 4);
    for (let j = 0; j < k; j++) after.add(`p${Math.floor(rand() * i)}`);
    return { name: `p${i}`, index: i, after: [...after] };
  });
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const total = quick ? 300 : 3000;
  const agent = await startAgentProcess({ logLevel: "info" });
  const rows: { name: string; peer?: string; result: Summary; ratio?: number }[] = [];
  try {
    const transport = createGrpcTransport({ baseUrl: agent.grpcUrl });
    const dm = createClient(DomainManager, transport);
    const health = createClient(Health, transport);
    const headers = { authorization: `Bearer ${await agent.token(["intents:write"], 3600)}` };
    const intent = intentToMessage(parseIntentText(readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8")));
    const plan = () => dm.planIntent({ intent }, { headers });
    const check = () => health.check({ service: "" });
    // A new intent name each call: nothing can be reused, every local package is hydrated.
    let fresh = 0;
    const freshPlan = () =>
      dm.planIntent(
        { intent: { ...intent, metadata: { $typeName: "camino.v1.IntentMetadata", name: `paper-chain-${fresh++}` } } },
        { headers },
      );

    for (const concurrency of [1, 50]) {
      const opts = { total, concurrency, warmup: quick ? 50 : 300 };
      const h = await measure(check, opts);
      const p = await measure(plan, opts);
      const label = concurrency === 1 ? "sequential" : `${concurrency} concurrent`;
      rows.push({ name: `Health/Check, ${label}`, result: h });
      rows.push({
        name: `PlanIntent (4 packages), ${label}`,
        peer: `Health/Check, ${label}`,
        result: p,
        ratio: p.p50Ms / h.p50Ms,
      });
      const f = await measure(freshPlan, { ...opts, total: Math.min(opts.total, 1000) });
      rows.push({
        name: `PlanIntent, new intent each call, ${label}`,
        peer: `Health/Check, ${label}`,
        result: f,
        ratio: f.p50Ms / h.p50Ms,
      });
    }
  } finally {
    await agent.stop();
  }

  const dag = randomDag(500);
  const orderMs = medianOf(() => orderPackages(dag), quick ? 20 : 200);
  const doc = {
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name: "big" },
    spec: {
      packages: dag.map((p) => ({
        name: p.name,
        blueprint: "b",
        after: p.after,
        resources: { cpu: "100m", memory: "64Mi" },
      })),
    },
  };
  const validateMs = medianOf(() => validateIntent(doc), quick ? 20 : 200);
  const waves = orderPackages(dag).waves.length;

  const fmt = (n: number, d = 2) => n.toFixed(d);
  console.log("\nRPC (real agent process, loopback, gRPC over h2c)");
  console.log(
    [
      "benchmark".padEnd(44),
      "calls".padStart(6),
      "calls/s".padStart(9),
      "p50 ms".padStart(8),
      "p99 ms".padStart(8),
      "p50 vs peer".padStart(12),
    ].join("  "),
  );
  for (const r of rows) {
    console.log(
      [
        r.name.padEnd(44),
        String(r.result.calls).padStart(6),
        fmt(r.result.callsPerSecond, 0).padStart(9),
        fmt(r.result.p50Ms, 3).padStart(8),
        fmt(r.result.p99Ms, 3).padStart(8),
        (r.ratio ? `${fmt(r.ratio)}x` : "-").padStart(12),
      ].join("  "),
    );
  }
  console.log(`\nOrdering a random 500-package DAG (${waves} waves): median ${fmt(orderMs, 3)} ms`);
  console.log(`Validating + ordering the same intent (500 packages):  median ${fmt(validateMs, 3)} ms\n`);

  const placement = runPlacementBenchmark();
  console.log(`${formatPlacementFigures(placement)}\n`);

  const network = await runNetworkBenchmark(quick);
  console.log(`${formatNetworkFigures(network)}\n`);

  const cad = await runCadBenchmarks(quick ? 100 : 1000);
  console.log(
    `Configuration as Data, ${cad.variants} variants of one blueprint (Deployment + Service + VirtualService)`,
  );
  console.log(
    [
      "benchmark".padEnd(46),
      "seconds".padStart(8),
      "packages/s".padStart(11),
      "peer s".padStart(8),
      "ratio".padStart(7),
    ].join("  "),
  );
  console.log(
    `${[
      "hydrate + validate (CAMINO)".padEnd(46),
      fmt(cad.hydrateSeconds, 3).padStart(8),
      fmt(cad.variants / cad.hydrateSeconds, 0).padStart(11),
      fmt(cad.kustomizeSeconds, 3).padStart(8),
      `${fmt(cad.hydrateSeconds / cad.kustomizeSeconds, 3)}`.padStart(7),
    ].join("  ")}   peer: kubectl kustomize, one invocation (target ratio <= 0.1)`,
  );
  console.log(
    `${[
      `commit ${cad.files} files (CAMINO git writer)`.padEnd(46),
      fmt(cad.commitSeconds, 3).padStart(8),
      fmt(cad.variants / cad.commitSeconds, 0).padStart(11),
      fmt(cad.gitCliSeconds, 3).padStart(8),
      `${fmt(cad.commitSeconds / cad.gitCliSeconds, 3)}`.padStart(7),
    ].join("  ")}   peer: git add -A && git commit (target ratio <= 1.0)\n`,
  );

  const emu = await runEmulatorBenchmarks(quick);
  console.log("Edge emulator (process, HTTPS, @kubernetes/client-node 1.4)");
  console.log(
    [
      "benchmark".padEnd(46),
      "calls".padStart(6),
      "per s".padStart(8),
      "p50 ms".padStart(8),
      "p99 ms".padStart(8),
      "p50 vs peer".padStart(12),
    ].join("  "),
  );
  console.log(
    [
      "GET one namespace (peer: the floor)".padEnd(46),
      String(emu.get.calls).padStart(6),
      fmt(emu.get.callsPerSecond, 0).padStart(8),
      fmt(emu.get.p50Ms, 3).padStart(8),
      fmt(emu.get.p99Ms, 3).padStart(8),
      "-".padStart(12),
    ].join("  "),
  );
  console.log(
    [
      "SSA dry run, 3-object package (per package)".padEnd(46),
      String(emu.ssaDryRun.calls).padStart(6),
      fmt(emu.ssaDryRun.callsPerSecond, 0).padStart(8),
      fmt(emu.ssaDryRun.p50Ms, 3).padStart(8),
      fmt(emu.ssaDryRun.p99Ms, 3).padStart(8),
      `${fmt(emu.ssaDryRun.p50Ms / emu.get.p50Ms)}x`.padStart(12),
    ].join("  "),
  );
  console.log(
    `Emulator heap with 10,000 stored Deployments: ${fmt(emu.memoryMiB10k, 1)} MiB${(globalThis as { gc?: unknown }).gc ? "" : " (without --expose-gc: approximate)"}\n`,
  );

  const sync = await runSyncBenchmark(quick ? 30 : 200);
  console.log(
    `ConfigSync (emulated), commit to synced at period ${sync.periodMs} ms over ${sync.commits} commits: p50 ${fmt(sync.latency.p50Ms, 1)} ms, p99 ${fmt(sync.latency.p99Ms, 1)} ms; p50 excess over period/2: ${fmt(sync.excessP50Ms, 1)} ms\n`,
  );

  const rest = await runRestBenchmark();
  console.log(
    `Emulator process at rest: idle ${fmt(rest.idleRssMiB, 1)} MiB RSS, ${fmt(rest.idleCpuPercent, 2)}% CPU; with ${rest.pods} pods on ${rest.nodes} nodes ${fmt(rest.loadedRssMiB, 1)} MiB RSS (${fmt(rest.loadedRssMiB / rest.idleRssMiB)}x idle), ${fmt(rest.loadedCpuPercent, 2)}% CPU\n`,
  );

  const edge = await runEdgeBenchmark(quick);
  console.log(
    `Edge driver admission path (3-object dry run + capacity read, emulator processes over HTTP): one edge p50 ${fmt(edge.one.p50Ms, 2)} ms, p99 ${fmt(edge.one.p99Ms, 2)} ms; 10 edges in parallel p50 ${fmt(edge.ten.p50Ms, 2)} ms, p99 ${fmt(edge.ten.p99Ms, 2)} ms per round (${fmt(edge.ten.p50Ms / edge.one.p50Ms)}x one edge for 10x the work)\n`,
  );

  const federation = await runFederationBenchmark(quick);
  console.log(`${federationTable(federation)}\n`);

  const segments = await runSegmentsBenchmark(quick);
  console.log(`${segmentsTable(segments)}\n`);

  const lifecycle = await runLifecycleBenchmark({ quick });
  console.log(lifecycleTable(lifecycle));

  const closedLoop = await runClosedLoopBenchmark({ quick });
  console.log(closedLoopTable(closedLoop));

  const flatLatency = await runFlatLatencyBenchmark({ quick });
  console.log(flatLatencyTable(flatLatency));

  const recovery = await runRecoveryBenchmark(quick);
  console.log(`\n${recoveryTable(recovery)}`);

  const monitoringPlane = await runMonitoringPlaneBenchmark(quick);
  console.log(`\n${formatMonitoringPlaneFigures(monitoringPlane)}\n`);
  const monitoringSnapshot = await runMonitoringSnapshotBenchmark(quick);
  console.log(`${formatMonitoringSnapshotFigures(monitoringSnapshot)}\n`);

  const out = join(ROOT, "bench", "results");
  mkdirSync(out, { recursive: true });
  const file = join(out, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        quick,
        rpc: rows,
        cad,
        emulator: emu,
        sync,
        rest,
        edge,
        order500: { medianMs: orderMs, waves },
        validate500: { medianMs: validateMs },
        placement,
        network,
        federation,
        segments,
        lifecycle,
        closedLoop,
        flatLatency,
        recovery,
        monitoringPlane,
        monitoringSnapshot,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
