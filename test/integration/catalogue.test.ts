/** The catalogue keeps serving the good blueprints of a repository that also holds a broken one. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { Catalogue } from "../../agent/cad/catalogue.js";
import { readFolder } from "../../agent/cad/folder.js";
import { LocalGitRepository } from "../../agent/cad/git/repository.js";
import { RepositoryRegistry } from "../../agent/cad/repository-registry.js";
import { silentLogger } from "../../agent/log/logger.js";
import { ROOT } from "../helpers/agent-process.js";

it("leaves out a broken package, says why, and still resolves the others", async () => {
  const dir = mkdtempSync(join(tmpdir(), "camino-cat-"));
  const repo = await new LocalGitRepository({ dir }).init();
  const files = await readFolder(join(ROOT, "blueprints", "cnf", "upf"));
  const write = new Map([...files].map(([p, t]) => [`upf/${p}`, t]));
  // A package whose Kptfile has an older apiVersion: the catalogue lists the others and names its problem.
  write.set("broken/Kptfile", readFileSync(join(ROOT, "test", "fixtures", "blueprints", "broken", "Kptfile"), "utf8"));
  await repo.commit({ write, message: "catalogue" });
  const registry = await RepositoryRegistry.open({
    dataDir: mkdtempSync(join(tmpdir(), "camino-data-")),
    logger: silentLogger(),
  });
  await registry.register({ name: "cat", role: "blueprint", url: dir, branch: "main" });
  const catalogue = new Catalogue(registry);
  expect((await catalogue.list()).map((e) => e.name)).toEqual(["upf"]);
  expect([...catalogue.problems.values()]).toEqual([
    {
      repository: "cat",
      path: "broken",
      message: "blueprint broken: Kptfile must be apiVersion kpt.dev/v1, kind Kptfile (is kpt.dev/v1alpha1, Kptfile)",
    },
  ]);
  expect((await catalogue.resolve("upf")).blueprint.path).toBe("upf");
  expect(readFileSync(join(dir, ".git", "HEAD"), "utf8")).toContain("refs/heads/main");
});
