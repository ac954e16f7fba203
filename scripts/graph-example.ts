/**
 * Regenerates docs/paper-chain.svg, the README's picture of `camino intent graph`: scenarios/paper-chain.yaml
 * with a fixed placement over two domains (cnf1 and cnf2 on edge-1 and cnf4 on edge-2 of domain-x, cnf3 on
 * edge-3 of domain-y) and fixed package states, so the file changes only when the graph code or the scenario
 * does. A unit test renders it again and compares.
 *
 *   npm run build && node dist/scripts/graph-example.js      # writes docs/paper-chain.svg
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildChainGraph, type PackagePlacement } from "../agent/graph/chain-graph.js";
import { renderSvg } from "../agent/graph/render-svg.js";
import { parseIntentText } from "../agent/intent/load.js";

/** The project root, from the source tree or from dist/. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || dir.endsWith("dist")) dir = dirname(dir);
  return dir;
}

export const EXAMPLE_PLACEMENT: readonly PackagePlacement[] = [
  { package: "cnf1", domain: "domain-x", edge: "edge-1" },
  { package: "cnf2", domain: "domain-x", edge: "edge-1" },
  { package: "cnf3", domain: "domain-y", edge: "edge-3" },
  { package: "cnf4", domain: "domain-x", edge: "edge-2" },
];

/** A deployment caught mid-way: the first two waves ready, the third still on its way. */
export const EXAMPLE_STATES: ReadonlyMap<string, string> = new Map([
  ["cnf1", "READY"],
  ["cnf2", "READY"],
  ["cnf3", "COMMITTED"],
  ["cnf4", "SYNCED"],
]);

export const EXAMPLE_FILE = "docs/paper-chain.svg";

/** The example's SVG text. */
export async function renderExample(root: string = projectRoot()): Promise<string> {
  const intent = parseIntentText(await readFile(join(root, "scenarios", "paper-chain.yaml"), "utf8"));
  return renderSvg(
    buildChainGraph({ intent, placements: EXAMPLE_PLACEMENT, states: EXAMPLE_STATES, source: "deployment" }),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = projectRoot();
  await writeFile(join(root, EXAMPLE_FILE), await renderExample(root));
  console.log(`wrote ${EXAMPLE_FILE}`);
}
