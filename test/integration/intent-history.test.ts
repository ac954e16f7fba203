/**
 * History, diff and rollback (issue 16 point 6), through a real agent, two emulated edges and the `camino` CLI
 * spawned as a user runs it; checked in the deployment repositories with the git CLI and on the edges:
 * - `camino intent diff` of an update shows, per repository, only the files of the package whose replicas
 *   changed (with the changed line) and the chain's copy of the spec as modified, the dropped package's as
 *   deleted, and commits nothing;
 * - after the update (with a new blueprint commit in the catalogue), `camino intent history` lists both
 *   revisions with their outcome and exactly the deploy commits `git log` shows for each;
 * - `camino intent rollback --to 1` ends READY on revision 1's spec and blueprint commit: the repositories and
 *   the edge hold revision 1's objects again;
 * - a rollback to a revision that does not exist names it and the recorded ones; `diff` of an invalid file
 *   exits 3 with the validation errors.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState } from "../../gen/camino/v1/types_pb.js";
import { intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { CAMINO, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

let edges: EmulatorProcess[] = [];
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let headers: Record<string, string>;
let env: Record<string, string>;
let scratch: string;

/** Three traffic sinks: `a` on edge-1, `b` (with `replicas`) and — unless dropped — `c` on edge-2. */
const intentText = (replicas: number, withC: boolean) => `apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: hist}
spec:
  timeout: 30s
  packages:
    - {name: a, blueprint: traffic-sink, resources: {cpu: 50m, memory: 32Mi}, placement: {edge: edge-1}}
    - {name: b, blueprint: traffic-sink, replicas: ${replicas}, resources: {cpu: 50m, memory: 32Mi}, placement: {edge: edge-2}}
${withC ? "    - {name: c, blueprint: traffic-sink, resources: {cpu: 50m, memory: 32Mi}, placement: {edge: edge-2}}\n" : ""}`;

beforeAll(async () => {
  edges = await Promise.all(
    ["edge-1", "edge-2"].map((name) =>
      startEmulatorProcess({ name, nodes: [{ name: "node-1", cpu: "4", memory: "8Gi" }] }),
    ),
  );
  agent = await startAgentProcess({
    logLevel: "info",
    extraConfig: {
      lifecycle: { pollMs: 50, cleanupTimeoutSeconds: 20 },
      edges: edges.map((e, i) => ({
        name: `edge-${i + 1}`,
        server: e.url,
        repository: `edge-${i + 1}-deploy`,
        timeoutMs: 5000,
        syncPeriod: "100ms",
      })),
    },
  });
  client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  const token = await agent.token(["intents:write", "intents:read", "catalogue:read"]);
  headers = { authorization: `Bearer ${token}` };
  env = { CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: token };
  scratch = mkdtempSync(join(tmpdir(), "camino-history-"));
});
afterAll(async () => {
  await agent?.stop();
  await Promise.all(edges.map((e) => e.stop()));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function camino(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [CAMINO, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

const repoDir = (name: string) => join(agent.dir, "data", "repos", name);
const git = (repo: string, ...args: string[]) =>
  execFileSync("git", ["-C", repoDir(repo), ...args], { encoding: "utf8" }).trim();
const heads = () =>
  Object.fromEntries(["edge-1-deploy", "edge-2-deploy", "catalogue"].map((r) => [r, git(r, "rev-parse", "HEAD")]));
const fileAt = (repo: string, path: string) => git(repo, "show", `HEAD:${path}`);

/** The commits `git log` shows for a revision of the intent that deployed (Camino-Action: deploy), per repository. */
function deployCommits(revision: number): string[] {
  const out: string[] = [];
  for (const repo of ["edge-1-deploy", "edge-2-deploy"]) {
    const log = git(
      repo,
      "log",
      "--format=%H%x09%(trailers:key=Camino-Intent,key=Camino-Revision,key=Camino-Action,valueonly,separator=%x2C)",
    );
    for (const line of log.split("\n")) {
      const [commit, trailers] = line.split("\t");
      if (trailers === `hist,${revision},deploy`) out.push(`${repo}@${commit}`);
    }
  }
  return out.sort();
}

/** Submits over gRPC and waits (bounded) until the deployment of that revision settles. */
async function submitAndSettle(text: string): Promise<void> {
  const res = await client.submitIntent({ intent: intentToMessage(parseIntentText(text)) }, { headers });
  await settled(Number(res.revision));
}

async function settled(revision: number): Promise<void> {
  await expect
    .poll(
      async () => {
        const { deployment: d } = await client.getDeployment({ name: "hist" }, { headers });
        return d && Number(d.revision) === revision ? DeploymentState[d.state] : `revision ${d?.revision}`;
      },
      { timeout: 30_000, interval: 100 },
    )
    .toBe("READY");
}

/** A new commit of the catalogue on its branch, changing one file (as a blueprint author's push would). */
function commitBlueprint(path: string, change: (text: string) => string): string {
  const index = join(scratch, "index");
  const opts = { encoding: "utf8" as const, env: { ...process.env, GIT_INDEX_FILE: index } };
  const run = (args: string[], input?: string) =>
    execFileSync("git", ["-C", repoDir("catalogue"), ...args], { ...opts, ...(input ? { input } : {}) }).trim();
  const parent = run(["rev-parse", "HEAD"]);
  run(["read-tree", parent]);
  const blob = run(["hash-object", "-w", "--stdin"], change(`${run(["show", `${parent}:${path}`])}\n`));
  run(["update-index", "--cacheinfo", `100644,${blob},${path}`]);
  const tree = run(["write-tree"]);
  const commit = run([
    "-c",
    "user.name=Blueprint Author",
    "-c",
    "user.email=author@example.org",
    "commit-tree",
    tree,
    "-p",
    parent,
    "-m",
    "traffic-sink: a build label",
  ]);
  run(["update-ref", "refs/heads/main", commit, parent]);
  return commit;
}

/** Deployments of the intent on an edge: name → desired replicas and the build label, if any. */
async function deploymentsOn(e: EmulatorProcess): Promise<Record<string, { replicas: number; build?: string }>> {
  const res = await fetch(`${e.url}/apis/apps/v1/namespaces/hist/deployments`);
  const list = (await res.json()) as {
    items?: { metadata: { name: string; labels?: Record<string, string> }; spec: { replicas: number } }[];
  };
  return Object.fromEntries(
    (list.items ?? []).map((d) => [
      d.metadata.name,
      {
        replicas: d.spec.replicas,
        ...(d.metadata.labels?.["camino.example/build"] ? { build: d.metadata.labels["camino.example/build"] } : {}),
      },
    ]),
  );
}

describe("history, diff and rollback", () => {
  it("diffs an update per repository and file, keeps every revision, and rolls back to revision 1", async () => {
    const v2 = join(scratch, "v2.yaml");
    writeFileSync(v2, intentText(2, false));
    await submitAndSettle(intentText(1, true));
    const blueprint1 = git("catalogue", "rev-parse", "HEAD");

    // The same file: nothing to change.
    const same = await client.planIntent(
      { intent: intentToMessage(parseIntentText(intentText(1, true))), diff: true },
      { headers },
    );
    expect([same.diffs, same.deployedRevision]).toEqual([[], 1n]);

    // The update: b scaled, c dropped. Of the packages only b's files change (with the replicas line); c's are
    // deleted; a's are untouched; and nothing is committed anywhere.
    const before = heads();
    const diff = await camino(["intent", "diff", v2]);
    expect(diff.code, diff.stderr).toBe(0);
    // The same answer over gRPC, as data.
    const res = await client.planIntent(
      { intent: intentToMessage(parseIntentText(intentText(2, false))), diff: true },
      { headers },
    );
    expect(res.deployedRevision).toBe(1n);
    const cFiles = git("edge-2-deploy", "ls-tree", "-r", "--name-only", "HEAD", "hist/c").split("\n");
    expect(cFiles.length).toBeGreaterThan(0);
    expect(res.diffs.filter((d) => d.change === "deleted").map((d) => d.path)).toEqual(cFiles);
    // Of the packages only b changes; the chain holds the intent's spec (_chain/intent.yaml), so it changes too.
    const modified = res.diffs.filter((d) => d.change === "modified");
    expect(new Set(modified.map((d) => `${d.repository} ${d.path.split("/")[1]}`))).toEqual(
      new Set(["edge-1-deploy _chain", "edge-2-deploy _chain", "edge-2-deploy b"]),
    );
    expect(modified.filter((d) => d.path.startsWith("hist/_chain/")).map((d) => d.path)).toEqual([
      "hist/_chain/intent.yaml",
      "hist/_chain/intent.yaml",
    ]);
    expect(res.diffs.filter((d) => d.change === "added")).toEqual([]);
    expect(res.diffs.every((d) => d.edge === d.repository.replace("-deploy", ""))).toBe(true);
    const deployment = modified.find((d) => d.path === "hist/b/deployment.yaml");
    expect(deployment?.unified).toMatch(/^--- a\/hist\/b\/deployment\.yaml\n\+\+\+ b\/hist\/b\/deployment\.yaml\n@@ /);
    expect(deployment?.unified).toMatch(/^- {2}replicas: 1\b.*\n\+ {2}replicas: 2\b/m);
    // The text shows the same, per repository.
    expect(diff.stdout).toContain(
      `intent hist against revision 1: 0 added, ${modified.length} modified, ${cFiles.length} deleted in 2 repositories\n`,
    );
    expect(diff.stdout).toContain("repository edge-2-deploy (edge edge-2):\n# ");
    expect(diff.stdout).toContain("repository edge-1-deploy (edge edge-1):\n# modified hist/_chain/intent.yaml\n");
    expect(diff.stdout).toContain(`# deleted ${cFiles[0]}\n--- a/${cFiles[0]}\n+++ /dev/null\n`);
    expect(diff.stdout).toContain(deployment?.unified);
    expect(heads()).toEqual(before);

    // A new blueprint commit, then the update: revision 2 resolves it.
    const blueprint2 = commitBlueprint("cnf/traffic-sink/deployment.yaml", (t) =>
      t.replace(
        "    app.kubernetes.io/component: cnf\n",
        '    app.kubernetes.io/component: cnf\n    camino.example/build: "2"\n',
      ),
    );
    await client.listCatalogue({}, { headers }); // reads the catalogue's head now, not within its next second
    await submitAndSettle(intentText(2, false));
    expect(await deploymentsOn(edges[1] as EmulatorProcess)).toEqual({ b: { replicas: 2, build: "2" } });

    // History: both revisions, their outcome, and exactly the deploy commits git log shows for each.
    const history = await camino(["intent", "history", "hist", "-o", "json"]);
    expect(history.code, history.stderr).toBe(0);
    const revisions = JSON.parse(history.stdout) as {
      revision: string;
      outcome: string;
      intentDigest: string;
      endedAt: string;
      commits: { repository: string; commit: string; wave: number }[];
      blueprints: { package: string; blueprint: string; commit: string }[];
    }[];
    expect(revisions.map((r) => [r.revision, r.outcome])).toEqual([
      ["1", "DEPLOYMENT_STATE_READY"],
      ["2", "DEPLOYMENT_STATE_READY"],
    ]);
    for (const [i, r] of revisions.entries()) {
      expect(r.commits.map((c) => `${c.repository}@${c.commit}`).sort()).toEqual(deployCommits(i + 1));
      expect(r.endedAt).not.toBe("");
    }
    expect(revisions[0]?.commits.map((c) => c.wave).sort()).toEqual([0, 0, 1, 1]);
    expect(new Set(revisions[0]?.blueprints.map((b) => b.commit))).toEqual(new Set([blueprint1]));
    expect(new Set(revisions[1]?.blueprints.map((b) => b.commit))).toEqual(new Set([blueprint2]));
    expect(revisions[0]?.intentDigest).not.toBe(revisions[1]?.intentDigest);

    // A revision that does not exist: named, with the recorded ones; nothing submitted.
    const updated = heads();
    const missing = await camino(["intent", "rollback", "hist", "--to", "9"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("to_revision: revision 9 is not recorded for intent hist (recorded: 1, 2)");
    expect(heads()).toEqual(updated);
    expect(Number((await client.getDeployment({ name: "hist" }, { headers })).deployment?.revision)).toBe(2);

    // Rollback to revision 1: revision 3 runs revision 1's spec pinned to revision 1's blueprint commit.
    const rolled = await camino(["intent", "rollback", "hist", "--to", "1", "--watch", "--no-tty"]);
    expect(rolled.code, rolled.stderr + rolled.stdout).toBe(0);
    expect(rolled.stdout).toContain("deployment hist.3 (intent hist, revision 3) submitted: the spec of revision 1");
    const { deployment: d3, intent: spec3 } = await client.getDeployment({ name: "hist" }, { headers });
    expect(d3?.state).toBe(DeploymentState.READY);
    expect(spec3?.spec?.packages.map((p) => [p.name, p.replicas, p.blueprintRevision])).toEqual([
      ["a", 1, blueprint1],
      ["b", 1, blueprint1],
      ["c", 1, blueprint1],
    ]);
    expect(d3?.history.map((r) => [Number(r.revision), DeploymentState[r.outcome]])).toEqual([
      [1, "READY"],
      [2, "READY"],
      [3, "READY"],
    ]);
    expect(new Set(d3?.history[2]?.blueprints.map((b) => b.commit))).toEqual(new Set([blueprint1]));
    // ListDeployments stays lean: no history.
    const listed = await client.listDeployments({}, { headers });
    expect(listed.deployments.map((d) => [d.intent, Number(d.revision), d.history.length])).toEqual([["hist", 3, 0]]);
    // What the edge and the repository hold: revision 1's objects, from the old blueprint commit.
    await expect
      .poll(() => deploymentsOn(edges[1] as EmulatorProcess), { timeout: 10_000 })
      .toEqual({ b: { replicas: 1 }, c: { replicas: 1 } });
    expect(parse(fileAt("edge-2-deploy", "hist/b/iesd.yaml")).spec.blueprint.commit).toBe(blueprint1);
    expect(fileAt("edge-2-deploy", "hist/b/deployment.yaml")).not.toContain("camino.example/build");
    for (const repo of ["edge-1-deploy", "edge-2-deploy", "catalogue"]) git(repo, "fsck", "--strict");
  }, 120_000); // three deployments: bounded well above their time on a loaded machine

  it("refuses to diff an invalid file with its validation errors (exit 3)", async () => {
    const bad = join(scratch, "bad.yaml");
    writeFileSync(
      bad,
      intentText(1, true)
        .replace("replicas: 1", "replicas: -1")
        .replace("blueprint: traffic-sink,", "blueprint: Traffic_Sink,"),
    );
    const res = await camino(["intent", "diff", bad]);
    expect(res.code).toBe(3);
    expect(res.stdout).toBe("");
    expect(res.stderr).toContain("spec.packages[0].blueprint");
    expect(res.stderr).toContain("spec.packages[1].replicas");
  });
});
