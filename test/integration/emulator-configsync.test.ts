/**
 * The GitOps loop on an emulated edge: a commit to the deployment repository is synced by the ConfigSync
 * reconciler (objects exist, local config skipped), a removal is pruned, the RootSync status reads as
 * ConfigSync's does at each step, KNV2006 is reproduced and avoided by the sentinel, a sync fault is reported
 * for its object only, and a remote repository is pulled with the token of the RootSync's secret.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBlueprint } from "../../agent/cad/blueprint.js";
import { DeploymentRepository, SENTINEL_PATH, SENTINEL_TEXT } from "../../agent/cad/deployment-repo.js";
import { readFolder } from "../../agent/cad/folder.js";
import { LocalGitRepository } from "../../agent/cad/git/repository.js";
import { hydratePackage } from "../../agent/cad/hydrate.js";
import { buildIesd, serviceHost } from "../../agent/cad/iesd.js";
import { parseIntentText } from "../../agent/intent/load.js";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import type { KubeObject } from "../../emulator/store.js";
import { ROOT } from "../helpers/agent-process.js";
import { kubectlFor } from "../helpers/kubectl.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";

let emulator: Emulator;
let git: GitHttpServer;
/** The emulator's log lines. */
const logged: Record<string, unknown>[] = [];

type Obj = Record<string, unknown>;
const get = (o: unknown, ...p: string[]): unknown =>
  p.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);

async function hydrated(intentName: string): Promise<Map<string, Map<string, string>>> {
  const intent = parseIntentText(
    readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8").replace(
      "name: paper-chain",
      `name: ${intentName}`,
    ),
  );
  const out = new Map<string, Map<string, string>>();
  for (const pkg of intent.packages.filter((p) => p.name === "cnf1" || p.name === "cnf4")) {
    const bp = readBlueprint(`cnf/${pkg.blueprint}`, await readFolder(join(ROOT, "blueprints", "cnf", pkg.blueprint)));
    const inputs = intent.links
      .filter((l) => l.from === pkg.name && l.to)
      .map((l) => ({
        link: `${l.from}-${l.to}`,
        package: l.to!,
        host: serviceHost(l.to!, intent.name),
        port: l.port,
        protocol: l.protocol,
      }));
    const iesd = buildIesd(
      {
        intent: intent.name,
        revision: 1,
        pkg,
        domain: "domain-x",
        edge: "edge-1",
        namespace: intent.name,
        blueprint: {
          name: bp.name,
          repository: "catalogue",
          url: "file:///c",
          path: bp.path,
          revision: "main",
          commit: "d".repeat(40),
        },
        deployment: { repository: "edge-1", path: `${intent.name}/${pkg.name}` },
        inputs,
      },
      bp,
    );
    out.set(pkg.name, hydratePackage(bp, iesd).files);
  }
  return out;
}

function rootSync(name: string, repo: string, extra: Obj = {}): Obj {
  return {
    apiVersion: "configsync.gke.io/v1beta1",
    kind: "RootSync",
    metadata: { name, namespace: "config-management-system" },
    spec: {
      sourceType: "git",
      sourceFormat: "unstructured",
      git: { repo, branch: "main", dir: ".", period: "100ms", auth: "none", ...extra },
    },
  };
}

const status = (name: string) =>
  get(emulator.store.get("configsync.gke.io/rootsyncs", "config-management-system", name), "status") as Obj | undefined;

/** Waits (bounded) until the RootSync has synced `commit`, or reports an error for it. */
async function syncedTo(name: string, commit: string, wantErrors = false): Promise<Obj> {
  for (let i = 0; i < 400; i++) {
    const s = status(name);
    if (
      get(s, "sync", "commit") === commit &&
      (wantErrors
        ? (get(s, "sync", "errorSummary", "totalCount") as number) > 0
        : get(s, "lastSyncedCommit") === commit)
    )
      return s as Obj;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`RootSync ${name} never synced ${commit}: ${JSON.stringify(status(name))}`);
}

const obj = (typeKey: string, ns: string | undefined, name: string): KubeObject | undefined =>
  emulator.store.get(typeKey, ns, name);

beforeAll(async () => {
  emulator = await startEmulator({
    name: "edge-1",
    http: {},
    eastWest: { address: "192.0.2.10", network: "network-1" },
    nodes: [{ name: "node-1", cpu: "8", memory: "16Gi" }],
    log: (line) => logged.push(line),
  });
  git = await startGitHttpServer();
});
afterAll(async () => {
  await emulator.close();
  await git.close();
});

describe("the edge's Istio install", () => {
  it("has the east-west gateway with its address, and istio-system labelled with the network", () => {
    expect(get(obj("/services", "istio-system", "istio-eastwestgateway"), "status", "loadBalancer", "ingress")).toEqual(
      [{ ip: "192.0.2.10" }],
    );
    expect(get(obj("/services", "istio-system", "istio-eastwestgateway"), "spec", "type")).toBe("LoadBalancer");
    expect(get(obj("/namespaces", undefined, "istio-system"), "metadata", "labels", "topology.istio.io/network")).toBe(
      "network-1",
    );
  });
});

describe("the GitOps loop", () => {
  it("syncs a commit, skips local config, prunes a removal, and shows ConfigSync's status at each step", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-gitops-"));
    const repo = new DeploymentRepository(await new LocalGitRepository({ dir }).init());
    const first = (await repo.ensureSentinel()).commit;
    emulator.api.applyObject(rootSync("root-sync", dir), "camino");
    const s0 = await syncedTo("root-sync", first);
    expect(obj("/namespaces", undefined, "camino-system")).toBeDefined();
    expect(get(s0, "sync", "errorSummary")).toEqual({ totalCount: 0, truncated: false, errorCountAfterTruncation: 0 });

    const files = await hydrated("chain-a");
    const c1 = (
      await repo.writeWave({
        intent: "chain-a",
        revision: 1,
        wave: 1,
        packages: new Map([
          ["cnf1", files.get("cnf1")!],
          ["cnf4", files.get("cnf4")!],
        ]),
      })
    ).commit;
    const s1 = await syncedTo("root-sync", c1);
    expect(get(obj("apps/deployments", "chain-a", "cnf1"), "metadata", "labels", "camino.io/package")).toBe("cnf1");
    expect(obj("/services", "chain-a", "cnf4")).toBeDefined();
    // The controllers run what was synced: the Deployment's pod is Running and Ready.
    for (let i = 0; i < 200 && get(obj("apps/deployments", "chain-a", "cnf1"), "status", "readyReplicas") !== 1; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(get(obj("apps/deployments", "chain-a", "cnf1"), "status", "readyReplicas")).toBe(1);
    const pod = emulator.store
      .list("/pods", "chain-a")
      .find((p) => get(p, "metadata", "labels", "camino.io/package") === "cnf1");
    expect(get(pod, "status", "phase")).toBe("Running");
    expect(obj("/configmaps", "chain-a", "cnf1-config")).toBeDefined();
    // The namespace was created implicitly; the IESD and Kptfile (local config) were not applied.
    expect(obj("/namespaces", undefined, "chain-a")).toBeDefined();
    expect(emulator.store.list("/configmaps", "chain-a").map((c) => c.metadata["name"])).toEqual([
      "cnf1-config",
      "cnf4-config",
    ]);
    expect(get(obj("apps/deployments", "chain-a", "cnf1"), "metadata", "managedFields")).toMatchObject([
      { manager: "configsync.gke.io", operation: "Apply" },
    ]);
    expect(s1).toMatchObject({
      observedGeneration: 1,
      lastSyncedCommit: c1,
      source: { commit: c1, gitStatus: { repo: dir, branch: "main", revision: "HEAD", dir: "." } },
      rendering: { commit: c1, message: "Rendering skipped" },
      sync: { commit: c1, errorSummary: { totalCount: 0 } },
    });
    expect((s1["conditions"] as Obj[]).find((c) => c["type"] === "Syncing")).toMatchObject({
      status: "False",
      commit: c1,
      message: "Sync Completed",
    });

    const c2 = (await repo.removeIntent("chain-a", 1, ["cnf4"])).commit;
    await syncedTo("root-sync", c2);
    expect(obj("/services", "chain-a", "cnf4")).toBeUndefined();
    expect(obj("apps/deployments", "chain-a", "cnf4")).toBeUndefined();
    expect(obj("apps/deployments", "chain-a", "cnf1")).toBeDefined();
  });

  it("reproduces KNV2006 for a commit that removes every cluster-scoped object, and the sentinel avoids it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-knv2006-"));
    const local = await new LocalGitRepository({ dir }).init();
    const files = await hydrated("chain-b");
    // Without a sentinel: a namespace and a chain, then a commit that removes everything.
    const ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: chain-b\n";
    const c1 = (
      await local.commit({ write: new Map([["chain-b/ns.yaml", ns], ...files.get("cnf1")!]), message: "chain" })
    ).commit;
    emulator.api.applyObject(rootSync("no-sentinel", dir), "camino");
    await syncedTo("no-sentinel", c1);
    const c2 = (
      await local.commit({ remove: ["chain-b"], write: new Map([["README", "empty\n"]]), message: "remove all" })
    ).commit;
    const refused = await syncedTo("no-sentinel", c2, true);
    expect(get(refused, "sync", "errors")).toEqual([
      { code: "2006", errorMessage: expect.stringContaining("KNV2006") },
    ]);
    expect(get(refused, "lastSyncedCommit")).toBe(c1);
    expect(obj("apps/deployments", "chain-b", "cnf1")).toBeDefined();
    // With the sentinel kept, removing the last chain goes through.
    const c3 = (await local.commit({ write: new Map([[SENTINEL_PATH, SENTINEL_TEXT]]), message: "sentinel" })).commit;
    await syncedTo("no-sentinel", c3);
    expect(obj("apps/deployments", "chain-b", "cnf1")).toBeUndefined();
    expect(obj("/namespaces", undefined, "camino-system")).toBeDefined();
  });

  it("reports an object that fails to apply with its code, and applies the others", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-fault-"));
    const repo = new DeploymentRepository(await new LocalGitRepository({ dir }).init());
    await repo.ensureSentinel();
    await emulator.setFaults({ syncErrors: ["ConfigMap/chain-c/cnf1-config"] });
    const files = await hydrated("chain-c");
    const c1 = (
      await repo.writeWave({
        intent: "chain-c",
        revision: 1,
        wave: 1,
        packages: new Map([["cnf1", files.get("cnf1")!]]),
      })
    ).commit;
    emulator.api.applyObject(rootSync("faulty", dir), "camino");
    const s = await syncedTo("faulty", c1, true);
    expect(get(s, "sync", "errors")).toEqual([
      {
        code: "2009",
        errorMessage: "KNV2009: failed to apply ConfigMap/chain-c/cnf1-config: injected sync fault",
        // ConfigSync's ResourceRef: the object and the file it came from.
        resources: [
          {
            name: "cnf1-config",
            namespace: "chain-c",
            sourcePath: "chain-c/cnf1/configmap.yaml",
            gvk: { group: "", version: "v1", kind: "ConfigMap" },
          },
        ],
      },
    ]);
    expect((s["conditions"] as Obj[]).find((c) => c["type"] === "Syncing")).toMatchObject({
      message: "Sync Completed with errors",
      errorSourceRefs: ["syncErrors"],
    });
    expect(obj("apps/deployments", "chain-c", "cnf1")).toBeDefined();
    expect(obj("/configmaps", "chain-c", "cnf1-config")).toBeUndefined();
    // As an operator sees it.
    const seen = await kubectlFor(emulator.httpUrl!)([
      "get",
      "rootsync",
      "faulty",
      "-n",
      "config-management-system",
      "-o",
      "jsonpath={.status.sync.errors[0].code}: {.status.sync.errors[0].errorMessage}",
    ]);
    expect(seen.stdout).toBe("2009: KNV2009: failed to apply ConfigMap/chain-c/cnf1-config: injected sync fault");
    await emulator.setFaults({ syncErrors: [] });
    await syncedTo("faulty", c1);
    expect(obj("/configmaps", "chain-c", "cnf1-config")).toBeDefined();
  });

  it("pulls a remote repository over HTTP with the token of spec.git.secretRef, and reports a refused one", async () => {
    const url = git.createRepo("edge-remote");
    const { RemoteGitRepository } = await import("../../agent/cad/git/remote.js");
    const remote = new DeploymentRepository(
      new RemoteGitRepository({
        url,
        dir: mkdtempSync(join(tmpdir(), "camino-rclone-")),
        credentials: { username: git.username, password: git.password },
      }),
    );
    const c = (await remote.ensureSentinel()).commit;
    emulator.api.applyObject(
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "git-creds", namespace: "config-management-system" },
        data: {
          username: Buffer.from(git.username).toString("base64"),
          token: Buffer.from(git.password).toString("base64"),
        },
      },
      "camino",
    );
    emulator.api.applyObject(rootSync("remote", url, { auth: "token", secretRef: { name: "git-creds" } }), "camino");
    await syncedTo("remote", c);
    emulator.api.applyObject(rootSync("refused", url, { auth: "token", secretRef: { name: "missing" } }), "camino");
    for (let i = 0; i < 200 && !get(status("refused"), "source", "errors"); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(get(status("refused"), "source", "errors")).toEqual([
      {
        code: "1061",
        errorMessage: "KNV1061: secret config-management-system/missing named by spec.git.secretRef does not exist",
      },
    ]);
    // A wrong token: the server's refusal is the source error, and the token is in no message.
    const wrong = "wrong-token-do-not-print";
    emulator.api.applyObject(
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "wrong-creds", namespace: "config-management-system" },
        data: { username: Buffer.from(git.username).toString("base64"), token: Buffer.from(wrong).toString("base64") },
      },
      "camino",
    );
    emulator.api.applyObject(rootSync("wrong", url, { auth: "token", secretRef: { name: "wrong-creds" } }), "camino");
    for (let i = 0; i < 400 && !get(status("wrong"), "source", "errors"); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(get(status("wrong"), "source", "errors")).toEqual([
      {
        code: "2004",
        errorMessage: `KNV2004: unable to sync repo: git fetch ${url}: the server refused the credentials given`,
      },
    ]);
    const shown = JSON.stringify(status("wrong"));
    expect(shown).not.toContain(wrong);
    const logLines = JSON.stringify(logged.filter((l) => String(l["sync"]).endsWith("/wrong")));
    expect(logLines).toContain("the server refused the credentials given");
    expect(logLines).not.toContain(wrong);
    expect(shown).not.toContain(Buffer.from(`${git.username}:${wrong}`).toString("base64"));
    expect(get(status("wrong"), "lastSyncedCommit")).toBeUndefined();
  });

  it("keeps a RepoSync inside its own namespace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-reposync-"));
    const local = await new LocalGitRepository({ dir }).init();
    const c = (
      await local.commit({
        write: new Map([
          ["cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n"],
          ["other.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: theirs\n  namespace: default\n"],
        ]),
        message: "ns repo",
      })
    ).commit;
    emulator.api.applyObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } }, "camino");
    emulator.api.applyObject(
      {
        apiVersion: "configsync.gke.io/v1beta1",
        kind: "RepoSync",
        metadata: { name: "repo-sync", namespace: "team-a" },
        spec: {
          sourceFormat: "unstructured",
          git: { repo: dir, branch: "main", dir: ".", period: "100ms", auth: "none" },
        },
      },
      "camino",
    );
    let s: Obj | undefined;
    for (let i = 0; i < 200 && get(s, "sync", "commit") !== c; i++) {
      await new Promise((r) => setTimeout(r, 25));
      s = get(emulator.store.get("configsync.gke.io/reposyncs", "team-a", "repo-sync"), "status") as Obj | undefined;
    }
    expect(obj("/configmaps", "team-a", "mine")).toBeDefined();
    expect(obj("/configmaps", "default", "theirs")).toBeUndefined();
    expect(get(s, "sync", "errors")).toEqual([
      {
        code: "1039",
        errorMessage: "KNV1039: ConfigMap/default/theirs is outside namespace team-a, the only one a RepoSync may sync",
        resources: [
          {
            name: "theirs",
            namespace: "default",
            sourcePath: "other.yaml",
            gvk: { group: "", version: "v1", kind: "ConfigMap" },
          },
        ],
      },
    ]);
  });

  it("logs a source error once while it lasts, and its end once the source reads again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-logged-"));
    emulator.api.applyObject(rootSync("logged", dir), "camino");
    for (let i = 0; i < 200 && !get(status("logged"), "source", "errors"); i++)
      await new Promise((r) => setTimeout(r, 25));
    const mine = () =>
      logged.filter((l) => l["sync"] === "configsync.gke.io/rootsyncs/config-management-system/logged");
    // Rounds go on every 100 ms with the same error (until the status's time, in seconds, has moved): told once.
    const failedAt = get(status("logged"), "source", "lastUpdate");
    for (let i = 0; i < 200 && get(status("logged"), "source", "lastUpdate") === failedAt; i++)
      await new Promise((r) => setTimeout(r, 25));
    const c = (
      await (
        await new LocalGitRepository({ dir }).init()
      ).commit({
        write: new Map([
          ["cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: logged\n  namespace: default\n"],
        ]),
        message: "now a repository",
      })
    ).commit;
    await syncedTo("logged", c);
    expect(mine()).toEqual([
      {
        level: "warn",
        msg: "ConfigSync source error",
        sync: "configsync.gke.io/rootsyncs/config-management-system/logged",
        code: "KNV2004",
        error: expect.stringMatching(/^KNV2004: unable to sync repo: /),
      },
      {
        level: "info",
        msg: "ConfigSync source error cleared",
        sync: "configsync.gke.io/rootsyncs/config-management-system/logged",
      },
    ]);
  });

  it("applies nothing of a commit with a corrupt object, reports it as a source error, and syncs the next good commit", async () => {
    // Written by the plain git CLI, then one loose object replaced by the zlib of other content: git itself
    // would hand out the other content without a word.
    const dir = mkdtempSync(join(tmpdir(), "camino-corrupt-"));
    const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@l" };
    const cli = (...args: string[]) =>
      execFileSync("git", ["-C", dir, ...args], {
        encoding: "utf8",
        env: { ...env, GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@l" },
      }).trim();
    const cm = (v: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checked\n  namespace: corrupt\ndata:\n  v: ${v}\n`;
    const commitFile = (text: string) => {
      writeFileSync(join(dir, "cm.yaml"), text);
      cli("add", "cm.yaml");
      cli("commit", "-q", "-m", text.slice(-8));
      return cli("rev-parse", "HEAD");
    };
    cli("init", "-q", "-b", "main");
    const c1 = commitFile(cm("good"));
    emulator.api.applyObject(rootSync("corrupt", dir), "camino");
    await syncedTo("corrupt", c1);
    expect(get(obj("/configmaps", "corrupt", "checked"), "data", "v")).toBe("good");

    const c2 = commitFile(cm("next"));
    const blob = cli("rev-parse", `${c2}:cm.yaml`);
    const file = join(dir, ".git", "objects", blob.slice(0, 2), blob.slice(2));
    const evil = cm("evil");
    chmodSync(file, 0o644);
    writeFileSync(file, deflateSync(`blob ${Buffer.byteLength(evil)}\0${evil}`));
    expect(cli("cat-file", "blob", blob)).toBe(evil.trim());
    for (let i = 0; i < 200 && get(status("corrupt"), "source", "commit") !== c2; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(get(status("corrupt"), "source", "errors")).toEqual([
      {
        code: "2004",
        errorMessage: expect.stringMatching(new RegExp(`^KNV2004: unable to sync repo: object ${blob} is corrupt`)),
      },
    ]);
    expect(get(status("corrupt"), "lastSyncedCommit")).toBe(c1);
    expect(get(status("corrupt"), "sync", "commit")).toBe(c1);
    expect(get(obj("/configmaps", "corrupt", "checked"), "data", "v")).toBe("good");
    // git fsck, the other witness, agrees that the repository is corrupt.
    let fsck = "";
    try {
      cli("fsck", "--strict", "--no-dangling");
    } catch (err) {
      fsck = String((err as { stderr?: unknown }).stderr);
    }
    expect(fsck).toMatch(new RegExp(`hash-path mismatch, found at: .*${blob.slice(0, 2)}/${blob.slice(2)}`));

    const c3 = commitFile(cm("fixed"));
    await syncedTo("corrupt", c3);
    expect(get(obj("/configmaps", "corrupt", "checked"), "data", "v")).toBe("fixed");
  });

  it("applies and prunes nothing from a commit with a file that is not YAML, and reports it as a source error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-badyaml-"));
    const local = await new LocalGitRepository({ dir }).init();
    const c1 = (
      await local.commit({
        write: new Map([
          [SENTINEL_PATH, SENTINEL_TEXT],
          ["app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  namespace: app\n"],
        ]),
        message: "good",
      })
    ).commit;
    emulator.api.applyObject(rootSync("bad-yaml", dir), "camino");
    await syncedTo("bad-yaml", c1);
    const c2 = (
      await local.commit({
        write: new Map([["app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: broken\n"]]),
        message: "bad",
      })
    ).commit;
    for (let i = 0; i < 200 && get(status("bad-yaml"), "source", "commit") !== c2; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(get(status("bad-yaml"), "source", "errors")).toEqual([
      { code: "1007", errorMessage: expect.stringContaining("KNV1007: app/cm.yaml is not valid YAML") },
    ]);
    expect(get(status("bad-yaml"), "sync", "commit")).toBe(c1);
    expect(get(status("bad-yaml"), "lastSyncedCommit")).toBe(c1);
    expect(obj("/configmaps", "app", "kept")).toBeDefined();
  });
});
