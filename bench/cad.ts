/**
 * Configuration-as-Data benchmarks, each beside its peer in the same run:
 *  - hydrate N variants of one blueprint (Deployment + Service + VirtualService), schema validation included,
 *    against `kubectl kustomize` rendering the same N variants as N overlays in one invocation;
 *  - commit those N packages (3N files) with CAMINO's git writer, against the git CLI adding and committing
 *    the same tree from a work tree.
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { readBlueprint } from "../agent/cad/blueprint.js";
import { readFolder } from "../agent/cad/folder.js";
import { LocalGitRepository } from "../agent/cad/git/repository.js";
import { hydratePackage } from "../agent/cad/hydrate.js";
import { buildIesd } from "../agent/cad/iesd.js";
import { validateIntent } from "../agent/intent/validate.js";
import { ROOT } from "../test/helpers/agent-process.js";

export interface CadFigures {
  variants: number;
  hydrateSeconds: number;
  kustomizeSeconds: number;
  commitSeconds: number;
  gitCliSeconds: number;
  files: number;
}

const version = (i: number) => `1.${i % 30}`;
const replicas = (i: number) => (i % 5) + 1;

function kustomizeOverlays(dir: string, n: number): string {
  // Kustomize only reads bases inside its root, so the base is copied beside the overlays.
  cpSync(join(ROOT, "bench", "fixtures", "web-kustomize-base"), join(dir, "base"), { recursive: true });
  const top = join(dir, "top");
  mkdirSync(top, { recursive: true });
  for (let i = 0; i < n; i++) {
    const o = join(dir, `v${i}`);
    mkdirSync(o, { recursive: true });
    writeFileSync(
      join(o, "kustomization.yaml"),
      `resources:\n  - ../base\nnamespace: v${i}\nimages:\n  - name: nginx\n    newTag: "${version(i)}"\nreplicas:\n  - name: web\n    count: ${replicas(i)}\n` +
        `labels:\n  - includeSelectors: true\n    includeTemplates: true\n    pairs:\n      camino.io/intent: v${i}\n      camino.io/package: web\n      camino.io/domain: domain-x\n      camino.io/edge: edge-1\n`,
    );
  }
  writeFileSync(
    join(top, "kustomization.yaml"),
    `resources:\n${Array.from({ length: n }, (_, i) => `  - ../v${i}\n`).join("")}`,
  );
  return top;
}

function timeCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env });
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve((performance.now() - start) / 1000) : reject(new Error(`${cmd} ${args[0]} failed: ${err}`)),
    );
  });
}

export async function runCadBenchmarks(n: number): Promise<CadFigures> {
  const blueprint = readBlueprint("web", await readFolder(join(ROOT, "bench", "fixtures", "web")));
  const intents = Array.from({ length: n }, (_, i) =>
    validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name: `v${i}` },
      spec: {
        packages: [
          {
            name: "web",
            blueprint: "web",
            version: version(i),
            replicas: replicas(i),
            resources: { cpu: "100m", memory: "64Mi" },
          },
        ],
      },
    }),
  );

  const t0 = performance.now();
  const all = new Map<string, string>();
  for (const intent of intents) {
    const pkg = intent.packages[0]!;
    const iesd = buildIesd(
      {
        intent: intent.name,
        revision: 1,
        pkg,
        domain: "domain-x",
        edge: "edge-1",
        namespace: intent.name,
        blueprint: {
          name: "web",
          repository: "bench",
          url: "file:///bench",
          path: "web",
          revision: "main",
          commit: "c".repeat(40),
        },
        deployment: { repository: "edge-1", path: `${intent.name}/web` },
        inputs: [],
      },
      blueprint,
    );
    for (const [p, t] of hydratePackage(blueprint, iesd).files)
      if (!p.endsWith("Kptfile") && !p.endsWith("iesd.yaml")) all.set(p, t);
  }
  const hydrateSeconds = (performance.now() - t0) / 1000;

  // Both peers work in the same folder, under the project like an agent's data directory. (On these machines
  // creating files under /tmp costs about 15 times what it costs elsewhere on the same disk.)
  mkdirSync(join(ROOT, ".camino"), { recursive: true });
  const work = mkdtempSync(join(ROOT, ".camino", "bench-"));
  try {
    const top = kustomizeOverlays(join(work, "kustomize"), n);
    const kustomizeSeconds = await timeCommand("kubectl", ["kustomize", top], {
      ...process.env,
      KUBECONFIG: "/dev/null",
    });

    // Three alternating rounds, median of each: the first commit in a process pays for JIT warm-up and the
    // object store's fan-out folders, and the disk here is noisy.
    const gitEnv = {
      ...process.env,
      GIT_AUTHOR_NAME: "bench",
      GIT_AUTHOR_EMAIL: "b@x",
      GIT_COMMITTER_NAME: "bench",
      GIT_COMMITTER_EMAIL: "b@x",
    };
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let round = 0; round < 3; round++) {
      const repo = await new LocalGitRepository({ dir: join(work, `camino-repo-${round}`) }).init();
      const t1 = performance.now();
      await repo.commit({ write: all, message: `bench: ${n} packages` });
      ours.push((performance.now() - t1) / 1000);
      const cli = join(work, `git-cli-${round}`);
      for (const [p, t] of all) {
        mkdirSync(dirname(join(cli, p)), { recursive: true });
        writeFileSync(join(cli, p), t);
      }
      execFileSync("git", ["init", "-q", "-b", "main", cli]);
      theirs.push(
        (await timeCommand("git", ["-C", cli, "add", "-A"], gitEnv)) +
          (await timeCommand("git", ["-C", cli, "commit", "-q", "-m", "bench"], gitEnv)),
      );
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const commitSeconds = median(ours);
    const gitCliSeconds = median(theirs);
    return { variants: n, hydrateSeconds, kustomizeSeconds, commitSeconds, gitCliSeconds, files: all.size };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
