/**
 * `-o json|yaml` on every read command, through main() as the executable runs it, against a real local HTTP/2
 * server that answers DomainManager and Health with fixed data: JSON parses, YAML parses to the same data, the
 * data is what the server answered, and a wrong `-o` is a usage error naming the flag and the formats.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { parse, parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../agent/cli/camino.js";
import { auditDir } from "../../agent/audit/audit-log.js";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import {
  AlertSeverity,
  DeploymentSchema,
  DeploymentState,
  MetricScope,
  RepositoryRole,
} from "../../gen/camino/v1/types_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

const deployment = create(DeploymentSchema, {
  id: "video-chain.2",
  intent: "video-chain",
  revision: 2n,
  state: DeploymentState.READY,
  packages: [{ package: "upf", wave: 1, edge: "edge-1", state: DeploymentState.READY }],
});

/** An intent held in its second revision: a package waiting on its segment, one on its rollout; two revisions. */
const held = create(DeploymentSchema, {
  id: "held-chain.2",
  intent: "held-chain",
  revision: 2n,
  state: DeploymentState.COMMITTED,
  reason: "wave 2 of 2",
  packages: [
    { package: "ingress", wave: 1, edge: "edge-1", state: DeploymentState.READY },
    {
      package: "cnf3",
      wave: 2,
      domain: "domain-y",
      state: DeploymentState.COMMITTED,
      waitingOn: [
        {
          kind: "segment",
          message: "segment domain-x.held-chain.domain-y in domain-y: SYNCED",
          peer: "domain-y",
          segmentState: "SYNCED",
        },
      ],
    },
    {
      package: "upf",
      wave: 2,
      edge: "edge-2",
      state: DeploymentState.SYNCED,
      waitingOn: [
        {
          kind: "rollout",
          message: "Deployment/upf 0/1 available — pod upf-7c9 ImagePullBackOff: upf",
          edge: "edge-2",
          replicasAvailable: 0,
          replicasDesired: 1,
          podReasons: ["pod upf-7c9 ImagePullBackOff: upf"],
        },
      ],
    },
  ],
  history: [
    {
      revision: 1n,
      intentDigest: "0123456789abcdef",
      submittedAt: timestampFromMs(Date.UTC(2025, 0, 30, 9)),
      endedAt: timestampFromMs(Date.UTC(2025, 0, 30, 9, 1)),
      outcome: DeploymentState.READY,
      reason: "all packages READY",
      commits: [{ repository: "edge-1-deploy", commit: "c0ffee01", wave: 1 }],
      blueprints: [{ package: "upf", blueprint: "upf", commit: "beef0001" }],
    },
    {
      revision: 2n,
      intentDigest: "fedcba9876543210",
      submittedAt: timestampFromMs(Date.UTC(2025, 0, 31, 9)),
      outcome: DeploymentState.COMMITTED,
      commits: [
        { repository: "edge-1-deploy", commit: "c0ffee02", wave: 1 },
        { repository: "edge-2-deploy", commit: "c0ffee03", wave: 2 },
      ],
    },
  ],
});

/** The `force` of every TerminateIntent the server was sent. */
const terminations: boolean[] = [];
let server: Http2Server;
const sessions = new Set<ServerHttp2Session>();
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), "camino-cli-output-"));

beforeAll(async () => {
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(DomainManager, {
        getDeployment: (req) => ({ deployment: req.name === "held-chain" ? held : deployment }),
        terminateIntent: (req) => {
          terminations.push(req.force);
          return { deployment: { ...deployment, state: DeploymentState.TERMINATING } };
        },
        listDeployments: () => ({ deployments: [deployment] }),
        listCatalogue: () => ({
          entries: [
            { name: "upf", repository: "catalogue", path: "cnf/upf", revisions: [{ tag: "v1", commit: "c0ffee" }] },
          ],
        }),
        listRepositories: () => ({
          repositories: [{ name: "edge-1-deploy", role: RepositoryRole.DEPLOYMENT, edge: "edge-1", branch: "main" }],
        }),
        listEdges: () => ({ edges: [{ name: "edge-1", healthy: true }] }),
        listPeers: () => ({ peers: [{ id: "domain-y", endpoint: "https://y.example:8443", reachable: true }] }),
        listSegments: () => ({ segments: [{ id: "seg-1", role: "origin", domain: "domain-y", phase: "COMMITTED" }] }),
        listAlerts: () => ({
          alerts: [
            {
              id: "a1",
              rule: "ReplicasUnavailable",
              severity: AlertSeverity.CRITICAL,
              intent: "video-chain",
              package: "upf",
              edge: "edge-1",
              firing: true,
              startedAt: timestampFromMs(Date.UTC(2025, 0, 31)),
            },
          ],
        }),
        queryMonitoring: (req) => ({
          samples:
            req.scope === MetricScope.UNSPECIFIED
              ? [{ metric: "camino_edge_free_cpu_millicores", labels: [{ key: "edge", value: "edge-1" }], value: 1500 }]
              : [],
        }),
      });
      router.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) });
    },
  });
  server = createServer(handler);
  // The CLI's transports keep their sessions open: teardown ends them so the server can close.
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  env = { CAMINO_SERVER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, CAMINO_TOKEN: "t" };
  // An audit log as the agent writes it: one JSON record per line.
  mkdirSync(auditDir(join(dir, "data")), { recursive: true });
  writeFileSync(
    join(auditDir(join(dir, "data")), "audit.log"),
    `${JSON.stringify({ time: "2025-01-31T12:00:00.000Z", caller: { kind: "peer", domain: "domain-y" }, method: "camino.v1.Federation/Hello", target: "", outcome: "ok" })}\n`,
  );
});

afterAll(async () => {
  for (const session of sessions) session.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function run(argv: string[]) {
  const out = { stdout: "", stderr: "" };
  const code = await main(argv, {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env,
  });
  return { code, ...out };
}

/** Each read command with what its JSON must hold (proto JSON field names where the data is a message). */
const READS: { argv: string[]; expectJson: (v: unknown) => void }[] = [
  {
    argv: ["intent", "get", "video-chain"],
    expectJson: (v) => expect(v).toMatchObject({ id: "video-chain.2", state: "DEPLOYMENT_STATE_READY", revision: "2" }),
  },
  {
    argv: ["intent", "why", "held-chain"],
    expectJson: (v) =>
      expect(v).toMatchObject({
        intent: "held-chain",
        state: "COMMITTED",
        packages: [
          { package: "ingress", state: "READY", waitingOn: [] },
          {
            package: "cnf3",
            domain: "domain-y",
            waitingOn: [{ kind: "segment", peer: "domain-y", segmentState: "SYNCED" }],
          },
          {
            package: "upf",
            edge: "edge-2",
            waitingOn: [
              {
                kind: "rollout",
                replicasAvailable: 0,
                replicasDesired: 1,
                podReasons: ["pod upf-7c9 ImagePullBackOff: upf"],
              },
            ],
          },
        ],
      }),
  },
  {
    argv: ["intent", "history", "held-chain"],
    expectJson: (v) =>
      expect(v).toMatchObject([
        {
          revision: "1",
          outcome: "DEPLOYMENT_STATE_READY",
          submittedAt: "2025-01-30T09:00:00Z",
          commits: [{ repository: "edge-1-deploy", commit: "c0ffee01", wave: 1 }],
          blueprints: [{ package: "upf", commit: "beef0001" }],
        },
        { revision: "2", outcome: "DEPLOYMENT_STATE_COMMITTED", commits: [{ wave: 1 }, { wave: 2 }] },
      ]),
  },
  {
    argv: ["intent", "ls"],
    expectJson: (v) =>
      expect(v).toMatchObject([{ intent: "video-chain", packages: [{ package: "upf", edge: "edge-1" }] }]),
  },
  { argv: ["catalogue"], expectJson: (v) => expect(v).toMatchObject([{ name: "upf", path: "cnf/upf" }]) },
  { argv: ["repo", "ls"], expectJson: (v) => expect(v).toMatchObject([{ name: "edge-1-deploy", role: "deployment" }]) },
  { argv: ["edge", "ls"], expectJson: (v) => expect(v).toMatchObject([{ name: "edge-1", healthy: true }]) },
  { argv: ["peers", "ls"], expectJson: (v) => expect(v).toMatchObject([{ id: "domain-y", reachable: true }]) },
  { argv: ["segment", "ls"], expectJson: (v) => expect(v).toMatchObject([{ id: "seg-1", phase: "COMMITTED" }]) },
  {
    argv: ["alerts"],
    expectJson: (v) =>
      expect(v).toMatchObject([{ rule: "ReplicasUnavailable", severity: "ALERT_SEVERITY_CRITICAL", firing: true }]),
  },
  {
    argv: ["top"],
    expectJson: (v) => expect(v).toMatchObject({ edges: [{ edge: "edge-1", cpuFreeMillis: 1500 }] }),
  },
  { argv: ["health"], expectJson: (v) => expect(v).toEqual({ status: "SERVING" }) },
];

describe("-o json and -o yaml on every read command", () => {
  for (const { argv, expectJson } of READS) {
    it(`camino ${argv.join(" ")}`, async () => {
      const json = await run([...argv, "-o", "json"]);
      expect(json.code, json.stderr).toBe(0);
      const data = JSON.parse(json.stdout) as unknown;
      expectJson(data);
      const yaml = await run([...argv, "--output", "yaml"]);
      expect(yaml.code, yaml.stderr).toBe(0);
      expect(parse(yaml.stdout)).toEqual(data);
      const wrong = await run([...argv, "-o", "wide"]);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/: -o must be (table|text), json or yaml \(is "wide"\) \(see --help\)\n$/);
      expect(wrong.stdout).toBe("");
    });
  }

  it("camino audit: one JSON record per line, one YAML document per record", async () => {
    const json = await run(["audit", "--data-dir", join(dir, "data"), "-o", "json"]);
    expect(json.code, json.stderr).toBe(0);
    const lines = json.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] as string) as unknown;
    expect(record).toMatchObject({ method: "camino.v1.Federation/Hello", caller: { domain: "domain-y" } });
    const yaml = await run(["audit", "--data-dir", join(dir, "data"), "-o", "yaml"]);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(parseAllDocuments(yaml.stdout).map((d) => d.toJS())).toEqual([record]);
    expect((await run(["audit", "--data-dir", join(dir, "data"), "-o", "csv"])).code).toBe(2);
  });

  it("camino intent terminate: --force sets TerminateIntentRequest.force; -o json is the Deployment", async () => {
    const forced = await run(["intent", "terminate", "video-chain", "--force", "-o", "json"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ id: "video-chain.2", state: "DEPLOYMENT_STATE_TERMINATING" });
    const plain = await run(["intent", "terminate", "video-chain"]);
    expect(plain.stdout).toBe("deployment video-chain.2 (intent video-chain, revision 2) TERMINATING\n");
    expect(terminations).toEqual([true, false]);
  });
});
