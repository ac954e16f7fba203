/**
 * Deployment repositories as git sees them: hydrated packages committed per wave, updated, removed and rolled
 * back, with 20 intents committing at once — checked with the git CLI, and `git fsck --strict` after each test.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readBlueprint, type Blueprint } from "../../agent/cad/blueprint.js";
import { DeploymentRepository, readTrailers, SENTINEL_PATH } from "../../agent/cad/deployment-repo.js";
import { readFolder } from "../../agent/cad/folder.js";
import { LocalGitRepository } from "../../agent/cad/git/repository.js";
import { hydratePackage } from "../../agent/cad/hydrate.js";
import { buildIesd, serviceHost } from "../../agent/cad/iesd.js";
import { parseIntentText } from "../../agent/intent/load.js";
import type { Intent } from "../../agent/intent/model.js";
import { ROOT } from "../helpers/agent-process.js";

const gitCli = (dir: string, ...args: string[]) =>
  execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const blueprints = new Map<string, Blueprint>();
let paper: Intent;
const repos: string[] = [];

beforeAll(async () => {
  for (const name of readdirSync(join(ROOT, "blueprints", "cnf")))
    blueprints.set(name, readBlueprint(`cnf/${name}`, await readFolder(join(ROOT, "blueprints", "cnf", name))));
  paper = parseIntentText(readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8"));
});

afterEach(() => {
  // Every repository a test wrote must pass git's strictest check.
  for (const dir of repos.splice(0)) expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
});

async function newRepo(): Promise<DeploymentRepository> {
  const dir = mkdtempSync(join(tmpdir(), "camino-deploy-"));
  repos.push(dir);
  const repo = new DeploymentRepository(
    await new LocalGitRepository({ dir, now: () => new Date("2026-11-24T12:00:00Z") }).init(),
  );
  await repo.ensureSentinel();
  return repo;
}

/** Hydrated files per package of an intent, as one wave each in order. */
function hydrateAll(intent: Intent, revision = 1): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const pkg of intent.packages) {
    const bp = blueprints.get(pkg.blueprint)!;
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
        revision,
        pkg,
        domain: "domain-x",
        edge: "edge-1",
        namespace: intent.name,
        blueprint: {
          name: bp.name,
          repository: "catalogue",
          url: "file:///catalogue",
          path: bp.path,
          revision: "main",
          commit: "b".repeat(40),
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

async function deploy(repo: DeploymentRepository, intent: Intent, revision = 1): Promise<void> {
  const files = hydrateAll(intent, revision);
  for (const [i, wave] of intent.waves.entries()) {
    await repo.writeWave({
      intent: intent.name,
      revision,
      wave: i + 1,
      packages: new Map(wave.map((p) => [p, files.get(p)!])),
    });
  }
}

function withName(name: string): Intent {
  return parseIntentText(
    readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8").replace("name: paper-chain", `name: ${name}`),
  );
}

describe("a deployment repository", () => {
  it("holds one commit per wave, named by intent, revision and wave, and exactly the hydrated tree", async () => {
    const repo = await newRepo();
    await deploy(repo, paper);
    const dir = (repo.repo as LocalGitRepository).dir;
    expect(gitCli(dir, "log", "--format=%s").trim().split("\n")).toEqual([
      "camino: paper-chain revision 1 wave 3",
      "camino: paper-chain revision 1 wave 2",
      "camino: paper-chain revision 1 wave 1",
      "camino: keep the camino-system sentinel",
    ]);
    const tree = gitCli(dir, "ls-tree", "-r", "--name-only", "HEAD").trim().split("\n");
    const expected = [SENTINEL_PATH, ...[...hydrateAll(paper).values()].flatMap((f) => [...f.keys()])].sort();
    expect(tree).toEqual(expected);
    expect(gitCli(dir, "show", "HEAD:paper-chain/cnf4/deployment.yaml")).toBe(
      hydrateAll(paper).get("cnf4")!.get("paper-chain/cnf4/deployment.yaml"),
    );
    expect(
      gitCli(dir, "show", "--name-only", "--format=", "HEAD")
        .trim()
        .split("\n")
        .every((p) => p.startsWith("paper-chain/cnf3/") || p.startsWith("paper-chain/cnf4/")),
    ).toBe(true);
  });

  it("marks every commit with Camino-* trailers git itself reads: intent, revision, wave and action", async () => {
    const repo = await newRepo();
    await deploy(repo, paper);
    const baseline = await repo.repo.head();
    await repo.removeIntent("paper-chain", 2);
    await repo.restoreIntent("paper-chain", 2, baseline);
    const dir = (repo.repo as LocalGitRepository).dir;
    const trailers = gitCli(
      dir,
      "log",
      "-5",
      "--format=%(trailers:key=Camino-Intent,key=Camino-Revision,key=Camino-Wave,key=Camino-Action,separator=%x2C)",
    )
      .trim()
      .split("\n")
      .filter(Boolean);
    expect(trailers).toEqual([
      "Camino-Intent: paper-chain,Camino-Revision: 2,Camino-Action: roll-back",
      "Camino-Intent: paper-chain,Camino-Revision: 2,Camino-Action: remove",
      "Camino-Intent: paper-chain,Camino-Revision: 1,Camino-Wave: 3,Camino-Action: deploy",
      "Camino-Intent: paper-chain,Camino-Revision: 1,Camino-Wave: 2,Camino-Action: deploy",
      "Camino-Intent: paper-chain,Camino-Revision: 1,Camino-Wave: 1,Camino-Action: deploy",
    ]);
    const message = gitCli(dir, "log", "-1", "--format=%B", baseline as string);
    expect(readTrailers(message)).toEqual({
      "Camino-Intent": "paper-chain",
      "Camino-Revision": "1",
      "Camino-Wave": "3",
      "Camino-Action": "deploy",
    });
  });

  it("rewrites only what changed on an update, and commits nothing when nothing changed", async () => {
    const repo = await newRepo();
    await deploy(repo, paper);
    const head = await repo.repo.head();
    await deploy(repo, paper);
    expect(await repo.repo.head()).toBe(head);
    const scaled = parseIntentText(
      readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8").replace("replicas: 2", "replicas: 5"),
    );
    await deploy(repo, scaled, 2);
    const dir = (repo.repo as LocalGitRepository).dir;
    // The IESDs carry no revision, so only cnf2's wave has anything to commit.
    const subjects = gitCli(dir, "log", "--format=%s", `${head}..HEAD`).trim().split("\n");
    expect(subjects).toHaveLength(1);
    expect(subjects[0]).toContain("wave 2");
    const changed = gitCli(dir, "diff", "--name-only", head!, "HEAD").trim().split("\n");
    expect(changed).toContain("paper-chain/cnf2/deployment.yaml");
    expect(changed).not.toContain("paper-chain/cnf1/deployment.yaml");
    expect(changed.filter((p) => p.startsWith("paper-chain/cnf2/")).sort()).toEqual([
      "paper-chain/cnf2/deployment.yaml",
      "paper-chain/cnf2/iesd.yaml",
    ]);
  });

  it("removes one intent and rolls another back, leaving every other intent's paths as they were", async () => {
    const repo = await newRepo();
    const other = withName("other-chain");
    await deploy(repo, other);
    const baseline = await repo.repo.head();
    await deploy(repo, paper);
    const otherFiles = await repo.repo.readFiles(undefined, "other-chain");
    await repo.restoreIntent("paper-chain", 1, baseline);
    expect(await repo.intents()).toEqual(["other-chain"]);
    expect(await repo.repo.readFiles(undefined, "other-chain")).toEqual(otherFiles);
    await repo.removeIntent("other-chain", 1);
    expect(gitCli((repo.repo as LocalGitRepository).dir, "ls-tree", "-r", "--name-only", "HEAD").trim()).toBe(
      SENTINEL_PATH,
    );
    expect(
      gitCli((repo.repo as LocalGitRepository).dir, "log", "-2", "--format=%s")
        .trim()
        .split("\n"),
    ).toEqual(["camino: remove other-chain revision 1", "camino: roll back paper-chain revision 1"]);
  });

  it("answers each change set of a group commit on its own: what changed nothing says so, and commits nothing alone", async () => {
    const repo = await newRepo();
    const wave = (intent: string, text: string) =>
      repo.writeWave({
        intent,
        revision: 1,
        wave: 1,
        packages: new Map([["web", new Map([[`${intent}/web/a.yaml`, text]])]]),
      });
    const first = await wave("same", "v: 1\n");
    const [same, other, third] = await Promise.all([wave("same", "v: 1\n"), wave("b", "v: 1\n"), wave("c", "v: 1\n")]);
    expect(same.changed).toBe(false);
    expect(other.changed && third.changed).toBe(true);
    expect(other.commit).toBe(third.commit);
    const dir = (repo.repo as LocalGitRepository).dir;
    expect(gitCli(dir, "rev-list", `${first.commit}..HEAD`).trim().split("\n")).toEqual([other.commit]);
    // The group's message lists what it carries; its trailers name b and c, not the change set that changed nothing.
    expect(gitCli(dir, "log", "-1", "--format=%B").trimEnd()).toBe(
      [
        "camino: 2 changes",
        "",
        "- camino: b revision 1 wave 1",
        "- camino: c revision 1 wave 1",
        "",
        "Camino-Intent: b",
        "Camino-Revision: 1",
        "Camino-Wave: 1",
        "Camino-Action: deploy",
        "Camino-Intent: c",
        "Camino-Revision: 1",
        "Camino-Wave: 1",
        "Camino-Action: deploy",
      ].join("\n"),
    );
  });

  it("loses no commit when 20 intents commit at once: grouped commits, linear history, each wave named once, every intent intact", async () => {
    const repo = await newRepo();
    const intents = Array.from({ length: 20 }, (_, i) => withName(`chain-${i}`));
    await Promise.all(intents.map((intent) => deploy(repo, intent)));
    const dir = (repo.repo as LocalGitRepository).dir;
    const parents = gitCli(dir, "rev-list", "--parents", "HEAD").trim().split("\n");
    // The waves that wait for their turn together are one commit: far fewer than 1 + 20 × 3.
    expect(parents.length).toBeLessThan(1 + 20 * 3);
    expect(parents.every((line) => line.split(" ").length <= 2)).toBe(true);
    // Each (intent, wave) is named by exactly one commit, as git itself reads the trailers.
    const named = gitCli(dir, "log", "--format=%(trailers:key=Camino-Intent,key=Camino-Wave,separator=%x20)")
      .trim()
      .split("\n")
      .filter(Boolean)
      .flatMap((line) => [...line.matchAll(/Camino-Intent: (\S+) Camino-Wave: (\d+)/g)].map((m) => `${m[1]}/${m[2]}`))
      .sort();
    expect(named).toEqual(intents.flatMap((i) => [1, 2, 3].map((w) => `${i.name}/${w}`)).sort());
    expect(await repo.intents()).toEqual(intents.map((i) => i.name).sort());
    for (const intent of intents) {
      const files = await repo.repo.readFiles(undefined, intent.name);
      expect(files.size).toBe(20);
      expect(files.get(`${intent.name}/cnf2/deployment.yaml`)).toContain(`namespace: ${intent.name}`);
    }
  });
});
