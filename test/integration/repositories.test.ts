/**
 * Repositories and the catalogue through the agent's API and CLI: the embedded default's local repositories,
 * a remote registered over git smart HTTP with credentials, checks that refuse bad registrations, deletion
 * refused while packages are deployed, and PlanIntent returning IESDs, PackageVariants and files.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { RepositoryRole } from "../../gen/camino/v1/types_pb.js";
import { DeploymentRepository } from "../../agent/cad/deployment-repo.js";
import { LocalGitRepository } from "../../agent/cad/git/repository.js";
import { validatePackageVariant } from "../../agent/cad/package-variant-schema.js";
import { intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { CAMINO, ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";

let agent: AgentProcess;
let server: GitHttpServer;
let client: Client<typeof DomainManager>;
let headers: Record<string, string>;
const paperText = readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8");
const paper = parseIntentText(paperText);

function camino(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CAMINO, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function codeOf(p: Promise<unknown>): Promise<{ code: Code; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(err)}`);
  return { code: err.code, message: err.rawMessage };
}

beforeAll(async () => {
  server = await startGitHttpServer();
  agent = await startAgentProcess();
  client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  headers = { authorization: `Bearer ${await agent.token(["intents:write", "catalogue:read", "repos:admin"])}` };
});
afterAll(async () => {
  await agent.stop();
  await server.close();
});

describe("the catalogue", () => {
  it("lists the sample blueprints seeded into the local blueprint repository, with revisions and setters", async () => {
    const { entries } = await client.listCatalogue({}, { headers });
    expect(entries.map((e) => e.name)).toEqual([
      "chain-base",
      "chain-eastwest",
      "ingress-rule",
      "link-allow-gateway",
      "link-allow-local",
      "link-allow-remote",
      "link-authorization",
      "link-cross-domain-consumer",
      "link-cross-domain-provider",
      "link-destination",
      "link-external",
      "link-inter-edge-consumer",
      "link-route",
      "mesh-trust",
      "nginx-ingress",
      "traffic-sink",
      "upf",
      "video-analytics",
    ]);
    const upf = entries.find((e) => e.name === "upf")!;
    expect(upf).toMatchObject({ repository: "catalogue", path: "cnf/upf", exported: true });
    expect(upf.revisions.map((r) => r.tag)).toEqual(["v1", ""]);
    expect(upf.revisions[0]!.commit).toBe(upf.revisions[1]!.commit);
    expect(upf.defaultResources).toMatchObject({ cpuMillis: 500n, memoryBytes: 268435456n });
    expect(upf.setters.find((s) => s.name === "version")).toMatchObject({ defaultValue: "2.1.0", required: false });
    const exported = await client.listCatalogue({ exportedOnly: true }, { headers });
    expect(exported.entries.map((e) => e.name)).toEqual(["nginx-ingress", "traffic-sink", "upf", "video-analytics"]);
  });

  it("is printed by `camino catalogue`", async () => {
    const env = { CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: headers["authorization"]!.slice(7) };
    const json = await camino(["catalogue", "-o", "json"], env);
    expect(json.code).toBe(0);
    const rule = (
      JSON.parse(json.stdout) as {
        name: string;
        prerequisites: string[];
        setters: { name: string; required: boolean }[];
      }[]
    ).find((e) => e.name === "ingress-rule")!;
    expect(rule.prerequisites).toEqual(["IngressClass/nginx"]);
    expect(rule.setters.filter((s) => s.required).map((s) => s.name)).toEqual(["backend", "host"]);
    const tableOut = await camino(["catalogue"], env);
    expect(tableOut.stdout).toMatch(
      /upf\s+\(this domain\)\s+catalogue\/cnf\/upf\s+v1,[0-9a-f]{7}\s+yes\s+8805\/UDP,2152\/UDP/,
    );
  });
});

describe("PlanIntent", () => {
  it("returns per package its placement, IESD, PackageVariant and the files its repository would receive", async () => {
    const { plan } = await client.planIntent({ intent: intentToMessage(paper) }, { headers });
    expect(plan!.packages.map((p) => [p.package, p.edge, p.domain, p.repository])).toEqual([
      ["cnf1", "edge-1", "domain-x", "edge-1-deploy"],
      ["cnf2", "edge-1", "domain-x", "edge-1-deploy"],
      ["cnf3", "", "domain-y", ""],
      ["cnf4", "edge-2", "domain-x", "edge-2-deploy"],
    ]);
    const cnf2 = plan!.packages[1]!;
    const iesd = parse(cnf2.iesd);
    expect(iesd.spec).toMatchObject({
      intent: "paper-chain",
      package: "cnf2",
      edge: "edge-1",
      blueprint: { repository: "catalogue", path: "cnf/upf", revision: "main" },
    });
    // A link to a package in another domain gets that package's cross-domain host.
    expect(iesd.spec.setters.upstreams).toBe(
      "cnf3=cnf3.paper-chain.domain-y.camino:8080,cnf4=cnf4.paper-chain.svc.cluster.local:5201",
    );
    expect(validatePackageVariant(parse(cnf2.packageVariant))).toEqual([]);
    expect(cnf2.files.map((f) => f.path)).toEqual([
      "paper-chain/cnf2/Kptfile",
      "paper-chain/cnf2/configmap.yaml",
      "paper-chain/cnf2/deployment.yaml",
      "paper-chain/cnf2/iesd.yaml",
      "paper-chain/cnf2/service.yaml",
    ]);
    expect(parse(cnf2.files.find((f) => f.path.endsWith("deployment.yaml"))!.content).spec.replicas).toBe(2);
    // 15 package files, and wave 0 on each of the two edges: the chain's Namespace, policies, Kptfile, IESD and
    // intent record;
    // on edge-1 the udp link cnf1 → cnf2's two NetworkPolicies with their Kptfile and IESD (cnf2 → cnf4 crosses
    // to edge-2, whose gateway cannot be read without a Kubernetes connection; cnf2 → cnf3 waits for a peer).
    expect(plan!.files.map((f) => `${f.repository}:${f.path}`)).toHaveLength(33);
    expect(plan!.networkObjects.map((o) => `${o.edge} ${o.kind} ${o.name}`)).toEqual([
      "edge-1 NetworkPolicy cnf1-cnf2-8805-egress",
      "edge-1 NetworkPolicy cnf1-cnf2-8805",
    ]);
    expect(
      plan!.files
        .filter((f) => f.repository === "edge-2-deploy" && f.path.startsWith("paper-chain/_chain/"))
        .map((f) => f.path),
    ).toContain("paper-chain/_chain/namespace.yaml");
    // No edge has a Kubernetes connection here, and cnf3's peer domain needs federation: nothing is admitted.
    expect(plan!.admitted).toBe(false);
    expect(plan!.admission.find((a) => a.package === "cnf3")).toMatchObject({
      check: "placement",
      message: expect.stringContaining("placement.domain"),
    });
    // Planning writes nothing.
    const edge1 = join(agent.dir, "data", "repos", "edge-1-deploy");
    expect(
      execFileSync("git", ["-C", edge1, "ls-tree", "-r", "--name-only", "HEAD"], { encoding: "utf8" }).trim(),
    ).toBe("_camino/camino-system.yaml");
  });

  it("records the commit a pinned revision resolves to", async () => {
    const pinned = parseIntentText(paperText.replace("blueprint: upf", "blueprint: upf\n      blueprintRevision: v1"));
    const { plan } = await client.planIntent({ intent: intentToMessage(pinned) }, { headers });
    const iesd = parse(plan!.packages[1]!.iesd);
    const tagCommit = execFileSync(
      "git",
      ["-C", join(agent.dir, "data", "repos", "catalogue"), "rev-parse", "v1^{commit}"],
      { encoding: "utf8" },
    ).trim();
    expect(iesd.spec.blueprint).toMatchObject({ revision: "v1", commit: tagCommit });
  });

  it("names the field of an unknown blueprint, revision or edge (INVALID_ARGUMENT)", async () => {
    const bad = parseIntentText(
      paperText
        .replace("blueprint: upf", "blueprint: upff")
        .replace("blueprint: nginx-ingress", "blueprint: nginx-ingress\n      blueprintRevision: v9")
        .replace("edge: edge-2", "edge: edge-9"),
    );
    const err = await codeOf(client.planIntent({ intent: intentToMessage(bad) }, { headers }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toContain(
      'spec.packages[0].blueprintRevision: blueprint nginx-ingress has no revision "v9" (tags: v1)',
    );
    expect(err.message).toContain('spec.packages[1].blueprint: unknown blueprint "upff"');
    expect(err.message).toContain(
      'spec.packages[3].placement.edge: unknown edge "edge-9" (this domain has edge-1, edge-2)',
    );
  });
});

describe("repositories", () => {
  it("registers a remote deployment repository over HTTP with credentials, via the CLI", async () => {
    const url = server.createRepo("edge-3-deploy");
    const creds = join(agent.dir, "git-credentials");
    writeFileSync(creds, `${server.username}:${server.password}\n`, { mode: 0o600 });
    const env = { CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: headers["authorization"]!.slice(7) };
    const added = await camino(
      ["repo", "add", "edge-3-deploy", url, "--role", "deployment", "--edge", "edge-3", "--credentials-file", creds],
      env,
    );
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    const ls = await camino(["repo", "ls", "-o", "json"], env);
    const listed = (
      JSON.parse(ls.stdout) as { name: string; edge: string; url: string; head: string; credentials: string }[]
    ).find((r) => r.name === "edge-3-deploy")!;
    expect(listed).toMatchObject({
      edge: "edge-3",
      url,
      credentials: "camino-repo-edge-3-deploy",
      head: server.git("edge-3-deploy", "rev-parse", "main").trim(),
    });
    expect(ls.stdout).not.toContain(server.password);
    // Stored apart, readable only by the agent's user.
    const secrets = join(agent.dir, "data", "secrets", "repositories.json");
    expect(readFileSync(secrets, "utf8")).toContain(server.password);
    expect(readFileSync(join(agent.dir, "data", "repositories.json"), "utf8")).not.toContain(server.password);
    expect(JSON.stringify(agent.logs)).not.toContain(server.password);
  });

  it("refuses wrong credentials, a missing branch, bad fields and taken names, keeping nothing", async () => {
    const url = server.createRepo("edge-4-deploy");
    const reg = (repository: Record<string, unknown>, credentials = `${server.username}:${server.password}`) =>
      codeOf(
        client.registerRepository(
          {
            repository: { role: RepositoryRole.DEPLOYMENT, edge: "edge-4", name: "edge-4-deploy", url, ...repository },
            credentials,
          },
          { headers },
        ),
      );
    expect(await reg({}, "camino-ci:wrong")).toMatchObject({
      code: Code.FailedPrecondition,
      message: `${url}: the credentials were refused`,
    });
    expect(await reg({ branch: "release" })).toMatchObject({
      code: Code.FailedPrecondition,
      message: `${url}: branch release does not exist`,
    });
    expect((await reg({ name: "Edge_4", url: "http://u:p@127.0.0.1:1/x.git" })).message).toBe(
      'invalid repository: repository.name: "Edge_4" must consist of lower-case letters, digits and \'-\' (found "E"); repository.url: must not carry credentials; give them in the credentials field',
    );
    expect(await reg({ name: "catalogue" })).toMatchObject({ code: Code.AlreadyExists });
    expect(await reg({ edge: "edge-1" })).toMatchObject({
      code: Code.AlreadyExists,
      message: "edge edge-1 already has deployment repository edge-1-deploy",
    });
    const { repositories } = await client.listRepositories({}, { headers });
    expect(repositories.map((r) => r.name)).toEqual(["catalogue", "edge-1-deploy", "edge-2-deploy", "edge-3-deploy"]);
  });

  it("refuses to forget a deployment repository that holds deployed packages (FAILED_PRECONDITION), and forgets an empty one", async () => {
    const edge1 = join(agent.dir, "data", "repos", "edge-1-deploy");
    const repo = new DeploymentRepository(new LocalGitRepository({ dir: edge1 }));
    await repo.writeWave({
      intent: "paper-chain",
      revision: 1,
      wave: 1,
      packages: new Map([["cnf1", new Map([["paper-chain/cnf1/a.yaml", "kind: A\n"]])]]),
    });
    const env = { CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: headers["authorization"]!.slice(7) };
    const refused = await camino(["repo", "rm", "edge-1-deploy"], env);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      "repository edge-1-deploy still holds deployed packages of paper-chain; terminate them first (FailedPrecondition)",
    );
    const removed = await camino(["repo", "rm", "edge-2-deploy"], env);
    expect(removed).toMatchObject({ code: 0, stdout: "removed edge-2-deploy\n" });
    expect((await client.listRepositories({}, { headers })).repositories.map((r) => r.name)).not.toContain(
      "edge-2-deploy",
    );
    expect(execFileSync("git", ["-C", edge1, "fsck", "--strict", "--no-dangling"], { encoding: "utf8" })).toBe("");
  });
});
