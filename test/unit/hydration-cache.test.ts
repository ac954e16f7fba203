/** The hydration cache returns what hydrating again would, and misses whenever an input differs. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { readBlueprint } from "../../agent/cad/blueprint.js";
import { readFolder } from "../../agent/cad/folder.js";
import { hydratePackage } from "../../agent/cad/hydrate.js";
import { HydrationCache } from "../../agent/cad/hydration-cache.js";
import { buildIesd } from "../../agent/cad/iesd.js";
import { parseIntentText } from "../../agent/intent/load.js";

const ROOT = new URL("../../", import.meta.url).pathname;

it("hits only for the same blueprint commit and IESD, and gives identical files", async () => {
  const bp = readBlueprint("cnf/upf", await readFolder(join(ROOT, "blueprints", "cnf", "upf")));
  const intent = parseIntentText(readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8"));
  const pkg = intent.packages[1]!;
  const src = (commit: string, edge: string) => ({
    intent: intent.name,
    revision: 1,
    pkg,
    domain: "d",
    edge,
    namespace: intent.name,
    blueprint: { name: "upf", repository: "c", url: "file:///c", path: bp.path, revision: "main", commit },
    deployment: { repository: "r", path: `${intent.name}/${pkg.name}` },
    inputs: [],
  });
  const cache = new HydrationCache(8);
  const first = cache.hydrate(bp, buildIesd(src("a".repeat(40), "edge-1"), bp));
  expect(cache.hydrate(bp, buildIesd(src("a".repeat(40), "edge-1"), bp))).toBe(first);
  expect([...first.files]).toEqual([...hydratePackage(bp, buildIesd(src("a".repeat(40), "edge-1"), bp)).files]);
  cache.hydrate(bp, buildIesd(src("b".repeat(40), "edge-1"), bp));
  cache.hydrate(bp, buildIesd(src("a".repeat(40), "edge-2"), bp));
  expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 1, misses: 3 });
});
