/**
 * A real agent, called the ways its users call it: the generated connect client, @grpc/grpc-js, `buf curl`
 * through reflection, Debian's python3-grpcio, and Connect/gRPC-Web over HTTP/1.1 — over h2c and over TLS.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DomainManager,
  ListAlertsRequestSchema,
  ListAlertsResponseSchema,
  PlanIntentRequestSchema,
  PlanIntentResponseSchema,
} from "../../gen/camino/v1/domain_manager_pb.js";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { intentToDocument, intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { grpcJsBidi, grpcJsClient, grpcJsUnary } from "../helpers/grpc-js.js";
import { generatePythonStubs, runPython, spawnPython } from "../helpers/python-client.js";

const run = promisify(execFile);
const paperChain = parseIntentText(readFileSync(`${ROOT}/scenarios/paper-chain.yaml`, "utf8"));
const BUF = `${ROOT}/node_modules/.bin/buf`;
const expectedWaves = [["cnf1"], ["cnf2"], ["cnf3", "cnf4"]];

let stubs: string;
beforeAll(() => {
  stubs = generatePythonStubs();
});

describe.each([{ mode: "h2c" as const }, { mode: "tls" as const }])("the agent over $mode", ({ mode }) => {
  let agent: AgentProcess;
  let token: string;
  let ca: string | undefined;
  beforeAll(async () => {
    agent = await startAgentProcess({ tls: mode === "tls" ? "tls" : false });
    token = await agent.token(["intents:write", "catalogue:read", "monitoring:read"]);
    ca = agent.pki?.ca;
  });
  afterAll(async () => {
    const { code } = await agent.stop();
    expect(code).toBe(0);
  });

  it(`uses ${mode === "tls" ? "https" : "http"} URLs`, () => {
    expect(agent.grpcUrl.startsWith(mode === "tls" ? "https://" : "http://")).toBe(true);
  });

  it("answers the generated connect client with the order and waves of the paper chain", async () => {
    const client = createClient(
      DomainManager,
      createGrpcTransport({ baseUrl: agent.grpcUrl, ...(ca ? { nodeOptions: { ca } } : {}) }),
    );
    const { plan } = await client.planIntent(
      { intent: intentToMessage(paperChain) },
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(plan?.order).toEqual(["cnf1", "cnf2", "cnf3", "cnf4"]);
    expect(plan?.waves.map((w) => w.packages)).toEqual(expectedWaves);
    expect(plan?.waves.map((w) => w.index)).toEqual([1, 2, 3]);
    expect(plan?.intentDigest).toMatch(/^[0-9a-f]{64}$/);
    const info = await client.getDomainInfo({}, { headers: { authorization: `Bearer ${token}` } });
    expect(info.domain?.id).toBe("domain-x");
    expect(info.domain?.apiEndpoint).toBe(agent.grpcUrl);
  });

  it("answers @grpc/grpc-js, including a real UNIMPLEMENTED status for unknown methods", async () => {
    const client = grpcJsClient(agent.grpcTarget, ca);
    try {
      const res = await grpcJsUnary(
        client,
        "/camino.v1.DomainManager/PlanIntent",
        PlanIntentRequestSchema,
        PlanIntentResponseSchema,
        { intent: intentToMessage(paperChain) },
        { authorization: `Bearer ${token}` },
      );
      expect(res.plan?.waves.map((w) => w.packages)).toEqual(expectedWaves);
      const health = await grpcJsUnary(
        client,
        "/grpc.health.v1.Health/Check",
        HealthCheckRequestSchema,
        HealthCheckResponseSchema,
        { service: "camino.v1.DomainManager" },
      );
      expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      await expect(
        grpcJsUnary(client, "/camino.v1.Nope/Nothing", HealthCheckRequestSchema, HealthCheckResponseSchema, {}),
      ).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
      // Every DomainManager method is served now: ListAlerts, the last to land, answers (no alert yet).
      const alerts = await grpcJsUnary(
        client,
        "/camino.v1.DomainManager/ListAlerts",
        ListAlertsRequestSchema,
        ListAlertsResponseSchema,
        { firingOnly: true },
        { authorization: `Bearer ${token}` },
      );
      expect(alerts.alerts).toEqual([]);
      await expect(
        grpcJsUnary(client, "/grpc.health.v1.Health/Check", HealthCheckRequestSchema, HealthCheckResponseSchema, {
          service: "no.such.Service",
        }),
      ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
    }
  });

  it("describes every service through reflection v1 and v1alpha, with all imported files", async () => {
    const client = grpcJsClient(agent.grpcTarget, ca);
    try {
      for (const r of [reflectionV1, reflectionV1alpha]) {
        const path = `/${r.ServerReflection.typeName}/ServerReflectionInfo`;
        const [list, file] = await grpcJsBidi(
          client,
          path,
          r.ServerReflectionRequestSchema,
          r.ServerReflectionResponseSchema,
          [
            { messageRequest: { case: "listServices", value: "" } },
            { messageRequest: { case: "fileContainingSymbol", value: "camino.v1.DomainManager" } },
          ],
        );
        const services =
          list?.messageResponse.case === "listServicesResponse"
            ? list.messageResponse.value.service.map((s) => s.name)
            : [];
        expect(services).toEqual([
          "camino.v1.DomainManager",
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
        ]);
        expect(file?.messageResponse.case).toBe("fileDescriptorResponse");
        const protos =
          file?.messageResponse.case === "fileDescriptorResponse"
            ? file.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b))
            : [];
        // A registry can only be built when every import is present: the grpc-node#3034 failure mode.
        const byName = new Map(protos.map((p) => [p.name, p]));
        const registry = createFileRegistry(protos[0]!, (name) => byName.get(name));
        expect(protos[0]?.name).toBe("camino/v1/domain_manager.proto");
        expect(protos.map((p) => p.name).sort()).toEqual([
          "camino/v1/domain_manager.proto",
          "camino/v1/intent.proto",
          "camino/v1/types.proto",
          "google/protobuf/timestamp.proto",
          "google/protobuf/wrappers.proto",
        ]);
        const [byFile] = await grpcJsBidi(
          client,
          path,
          r.ServerReflectionRequestSchema,
          r.ServerReflectionResponseSchema,
          [{ messageRequest: { case: "fileByFilename", value: "camino/v1/intent.proto" } }],
        );
        expect(byFile?.messageResponse.case).toBe("fileDescriptorResponse");
        const [missing] = await grpcJsBidi(
          client,
          path,
          r.ServerReflectionRequestSchema,
          r.ServerReflectionResponseSchema,
          [{ messageRequest: { case: "fileContainingSymbol", value: "camino.v1.NoSuchThing" } }],
        );
        expect(missing?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
        const plan = registry.getService("camino.v1.DomainManager")?.methods.find((m) => m.name === "PlanIntent");
        expect(plan?.input.typeName).toBe("camino.v1.PlanIntentRequest");
        expect(registry.getMessage("camino.v1.PackageSpec")?.fields.map((f) => f.jsonName)).toContain(
          "blueprintRevision",
        );
      }
    } finally {
      client.close();
    }
  });

  it("serves `buf curl` with no proto files: list services and methods, and call PlanIntent", async () => {
    const tlsArgs = agent.pki ? ["--cacert", agent.pki.caFile] : ["--http2-prior-knowledge"];
    const base = ["curl", "--protocol", "grpc", ...tlsArgs];
    const services = await run(BUF, [...base, "--list-services", agent.grpcUrl]);
    expect(services.stdout.trim().split("\n")).toContain("camino.v1.DomainManager");
    const methods = await run(BUF, [...base, "--list-methods", agent.grpcUrl]);
    expect(methods.stdout).toContain("camino.v1.DomainManager/PlanIntent");
    expect(methods.stdout).toContain("grpc.health.v1.Health/Watch");
    const call = await run(BUF, [
      ...base,
      "-H",
      `Authorization: Bearer ${token}`,
      "-d",
      JSON.stringify({ intent: intentToDocument(paperChain) }),
      `${agent.grpcUrl}/camino.v1.DomainManager/PlanIntent`,
    ]);
    const plan = JSON.parse(call.stdout).plan;
    expect(plan.waves.map((w: { packages: string[] }) => w.packages)).toEqual(expectedWaves);
    const denied = await run(BUF, [...base, "-d", "{}", `${agent.grpcUrl}/camino.v1.DomainManager/PlanIntent`]).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    expect(JSON.stringify(denied)).toContain("unauthenticated");
  });

  it("serves Debian's python3-grpcio", () => {
    const env: Record<string, string> = { CAMINO_TOKEN: token, ...(agent.pki ? { CAMINO_CA: agent.pki.caFile } : {}) };
    const ok = runPython(stubs, ["plan", agent.grpcTarget, JSON.stringify(intentToDocument(paperChain))], env);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).plan.waves.map((w: { packages: string[] }) => w.packages)).toEqual(expectedWaves);
    const bad = runPython(
      stubs,
      [
        "plan",
        agent.grpcTarget,
        JSON.stringify({
          apiVersion: "camino.io/v1",
          kind: "DeploymentIntent",
          metadata: { name: "x" },
          spec: { packages: [{ name: "a", blueprint: "b", after: ["zz"] }] },
        }),
      ],
      env,
    );
    expect(bad.stdout).toContain(
      'ERROR INVALID_ARGUMENT invalid intent: spec.packages[0].after[0]: unknown package "zz"',
    );
  });

  it("streams health to python3-grpcio's Watch", async () => {
    const watch = spawnPython(stubs, ["watch", agent.grpcTarget], agent.pki ? { CAMINO_CA: agent.pki.caFile } : {});
    try {
      await watch.waitFor("SERVING");
      expect(watch.lines).toEqual(["SERVING"]);
    } finally {
      watch.child.kill();
      await watch.exited;
    }
  });

  it("serves Connect and gRPC-Web over HTTP/1.1, and /metrics", async () => {
    const tlsOpts = ca ? { nodeOptions: { ca } } : {};
    const connect = createClient(
      DomainManager,
      createConnectTransport({ baseUrl: agent.httpUrl, httpVersion: "1.1", ...tlsOpts }),
    );
    const { plan } = await connect.planIntent(
      { intent: intentToMessage(paperChain) },
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(plan?.order).toEqual(["cnf1", "cnf2", "cnf3", "cnf4"]);
    const web = createClient(
      Health,
      createGrpcWebTransport({ baseUrl: agent.httpUrl, httpVersion: "1.1", ...tlsOpts }),
    );
    expect((await web.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    // Plain curl speaks the Connect protocol: JSON in, JSON out.
    const curlTls = agent.pki ? ["--cacert", agent.pki.caFile] : [];
    const res = await run("curl", [
      "-sS",
      "--http1.1",
      ...curlTls,
      "-H",
      "content-type: application/json",
      "-H",
      `authorization: Bearer ${token}`,
      "-d",
      "{}",
      `${agent.httpUrl}/camino.v1.DomainManager/GetDomainInfo`,
    ]);
    expect(JSON.parse(res.stdout).domain.id).toBe("domain-x");
    const metrics = await run("curl", ["-sS", ...curlTls, `${agent.httpUrl}/metrics`]);
    expect(metrics.stdout).toMatch(
      /camino_rpc_calls_total\{service="camino.v1.DomainManager",method="PlanIntent",code="OK",domain="domain-x"\} \d+/,
    );
  });

  it("refuses an unknown field in a Connect JSON request instead of dropping it", async () => {
    const curlTls = agent.pki ? ["--cacert", agent.pki.caFile] : [];
    const res = await run("curl", [
      "-sS",
      ...curlTls,
      "-H",
      "content-type: application/json",
      "-H",
      `authorization: Bearer ${token}`,
      "-d",
      '{"intent":{"kind":"DeploymentIntent","bogus":1}}',
      `${agent.httpUrl}/camino.v1.DomainManager/PlanIntent`,
    ]);
    expect(JSON.parse(res.stdout)).toMatchObject({ code: "invalid_argument" });
    expect(res.stdout).toContain("bogus");
  });
});

describe("mutual TLS", () => {
  let agent: AgentProcess;
  beforeAll(async () => {
    agent = await startAgentProcess({ tls: "mtls" });
  });
  afterAll(async () => {
    await agent.stop();
  });

  it("accepts a client with a certificate from the configured CA and refuses one without", async () => {
    const pki = agent.pki!;
    const withCert = createClient(
      Health,
      createGrpcTransport({
        baseUrl: agent.grpcUrl,
        nodeOptions: { ca: pki.ca, cert: readFileSync(pki.clientCertFile), key: readFileSync(pki.clientKeyFile) },
      }),
    );
    expect((await withCert.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const without = createClient(Health, createGrpcTransport({ baseUrl: agent.grpcUrl, nodeOptions: { ca: pki.ca } }));
    const err = await without.check({ service: "" }, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect([Code.Unavailable, Code.Internal, Code.Unknown]).toContain((err as ConnectError).code);
  });
});
