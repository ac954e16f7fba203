/**
 * RegisterRepository through a real agent when the repository's edge refuses the RootSync: the caller is told
 * (UNAVAILABLE, `camino-error-code: ERR_ROOTSYNC_NOT_WRITTEN`, naming the edge and the edge's reason, never the
 * credentials), the repository stays registered, and a retry of the same registration once the edge takes
 * writes again writes the RootSync. The edge is an emulator behind a small HTTP proxy that answers the RootSync
 * apply with a 403 Status while it refuses; the emulator's own API is the witness of what was written.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { RepositoryRole } from "../../gen/camino/v1/types_pb.js";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";

const ROOTSYNC = "/apis/configsync.gke.io/v1beta1/namespaces/config-management-system/rootsyncs/root-sync";
const REFUSAL = 'admission webhook "policy.camino.test" denied the request: RootSync writes are frozen';

let edge: EmulatorProcess;
let proxy: Server;
let git: GitHttpServer;
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let headers: Record<string, string>;
/** While true, the proxy answers every write of the RootSync with a 403. */
let refusing = true;
const refused: string[] = [];

beforeAll(async () => {
  [edge, git] = await Promise.all([startEmulatorProcess({ name: "edge-3" }), startGitHttpServer()]);
  const upstream = new URL(edge.url);
  proxy = createServer((req, res) => {
    if (refusing && req.method === "PATCH" && req.url?.startsWith(ROOTSYNC)) {
      refused.push(req.url);
      req.resume();
      res.writeHead(403, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: REFUSAL,
          reason: "Forbidden",
          details: { name: "root-sync", group: "configsync.gke.io", kind: "rootsyncs" },
          code: 403,
        }),
      );
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  agent = await startAgentProcess({
    extraConfig: {
      edges: [
        {
          name: "edge-3",
          server: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
          repository: "edge-3-deploy",
          timeoutMs: 5000,
        },
      ],
    },
  });
  client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  headers = { authorization: `Bearer ${await agent.token(["repos:admin"])}` };
});
afterAll(async () => {
  await agent?.stop();
  proxy?.closeAllConnections();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await Promise.all([edge?.stop(), git?.close()]);
});

/** The RootSync as the emulator itself has it (not through the proxy or the agent). */
async function rootSyncOnTheEdge(): Promise<{ status: number; spec?: { git?: Record<string, unknown> } }> {
  const res = await fetch(`${edge.url}${ROOTSYNC}`);
  const body = (await res.json()) as { spec?: { git?: Record<string, unknown> } };
  return { status: res.status, ...(res.status === 200 ? { spec: body.spec ?? {} } : {}) };
}

it("tells the caller when the edge refuses the RootSync, keeps the repository, and writes the RootSync on a retry", async () => {
  const url = git.createRepo("edge-3-deploy");
  const register = () =>
    client.registerRepository(
      {
        repository: { name: "edge-3-deploy", role: RepositoryRole.DEPLOYMENT, edge: "edge-3", url },
        credentials: `${git.username}:${git.password}`,
      },
      { headers },
    );
  const err = await register().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  const e = err as ConnectError;
  expect(e.code).toBe(Code.Unavailable);
  expect(e.metadata.get("camino-error-code")).toBe("ERR_ROOTSYNC_NOT_WRITTEN");
  expect(e.rawMessage).toContain("edge edge-3 did not take the RootSync of repository edge-3-deploy");
  expect(e.rawMessage).toContain(REFUSAL);
  expect(e.rawMessage).toContain("the repository stays registered");
  expect(e.rawMessage).not.toContain(git.password);
  expect(refused).toHaveLength(1);
  // The edge has no RootSync; the repository is registered all the same.
  expect((await rootSyncOnTheEdge()).status).toBe(404);
  const { repositories } = await client.listRepositories({}, { headers });
  expect(repositories.map((r) => r.name)).toContain("edge-3-deploy");

  // The edge takes writes again: the same registration, retried, writes the RootSync.
  refusing = false;
  const retried = await register();
  expect(retried.repository).toMatchObject({ name: "edge-3-deploy", edge: "edge-3", url });
  expect(await rootSyncOnTheEdge()).toMatchObject({
    status: 200,
    spec: { git: { repo: url, branch: "main", auth: "token", secretRef: { name: "camino-git-creds" } } },
  });
  // A registration that differs is still refused as a taken name.
  const other = await client
    .registerRepository(
      { repository: { name: "edge-3-deploy", role: RepositoryRole.DEPLOYMENT, edge: "edge-3", url: `${url}x` } },
      { headers },
    )
    .then(
      () => undefined,
      (x: unknown) => x,
    );
  expect(other).toMatchObject({ code: Code.AlreadyExists });
  expect(JSON.stringify(agent.logs)).not.toContain(git.password);
});
