/**
 * The hydration cache returns what hydrating again would, and misses whenever an input differs; intents of one shape
 * are served from a template with their names written in, byte for byte what hydrating them would give.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readBlueprint, type Blueprint } from "../../agent/cad/blueprint.js";
import { readFolder } from "../../agent/cad/folder.js";
import { hydratePackage, HydrationError } from "../../agent/cad/hydrate.js";
import { HydrationCache } from "../../agent/cad/hydration-cache.js";
import { buildIesd, serviceHost } from "../../agent/cad/iesd.js";
import { parseIntentText } from "../../agent/intent/load.js";
import type { PackageIntent } from "../../agent/intent/model.js";

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

describe("intents of one shape", () => {
  const paper = () => parseIntentText(readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8"));
  const blueprintOf = async (name: string) =>
    readBlueprint(`cnf/${name}`, await readFolder(join(ROOT, "blueprints", "cnf", name)));
  const iesdFor = (bp: Blueprint, pkg: PackageIntent, intent: string, namespace = intent) =>
    buildIesd(
      {
        intent,
        revision: 1,
        pkg,
        domain: "domain-x",
        edge: "edge-1",
        namespace,
        blueprint: {
          name: bp.name,
          repository: "c",
          url: "file:///c",
          path: bp.path,
          revision: "main",
          commit: "a".repeat(40),
        },
        deployment: { repository: "edge-1-deploy", path: `${intent}/${pkg.name}` },
        inputs: [
          {
            link: `${pkg.name}-next`,
            package: "next",
            host: serviceHost("next", namespace),
            port: 8080,
            protocol: "http",
          },
        ],
      },
      bp,
    );

  // Names of every kind: plain ones, ones that are also words of the package (the edge, the package, parts of the
  // service host), digits, the longest DNS label; and ones a template must not serve (a YAML word, too short).
  const NAMES = ["shop", "tp-17-abc", "a1b2", "svcs", "local", "cluster", "camino", "edge-1", "front", "x".repeat(63)];

  it("give, from a template hydrated once, byte for byte what hydrating each would (files, objects, PackageVariant)", async () => {
    for (const p of paper().packages) {
      const bp = await blueprintOf(p.blueprint);
      const cache = new HydrationCache();
      for (const name of NAMES) {
        // Another name of the same length first: the template of the shape is then made from that one.
        const other = `z${"y".repeat(name.length - 2)}z`;
        cache.hydrate(bp, iesdFor(bp, p, other));
        const direct = hydratePackage(bp, iesdFor(bp, p, name));
        const before = cache.templated;
        const served = cache.hydrate(bp, iesdFor(bp, p, name));
        expect(cache.templated, `${p.blueprint} as ${name}: from the template`).toBe(before + 1);
        expect([...served.files], `${p.blueprint} as ${name}`).toEqual([...direct.files]);
        expect(served.objects).toEqual(direct.objects);
        expect(served.packageVariant).toEqual(direct.packageVariant);
        expect(served.iesd).toEqual(direct.iesd);
      }
    }
  });

  it("a namespace other than the intent's name is written back where it belongs", async () => {
    const intent = paper();
    const p = intent.packages.find((x) => x.blueprint === "traffic-sink") as PackageIntent;
    const bp = await blueprintOf("traffic-sink");
    const cache = new HydrationCache();
    cache.hydrate(bp, iesdFor(bp, p, "blue-one", "blue-ns"));
    const served = cache.hydrate(bp, iesdFor(bp, p, "gold-one", "gold-ns"));
    expect(cache.templated).toBe(2);
    const direct = hydratePackage(bp, iesdFor(bp, p, "gold-one", "gold-ns"));
    expect([...served.files]).toEqual([...direct.files]);
    expect(served.objects).toEqual(direct.objects);
  });

  it("names a template could get wrong are hydrated as they are: a YAML word, a short name", async () => {
    const p = paper().packages.find((x) => x.blueprint === "traffic-sink") as PackageIntent;
    const bp = await blueprintOf("traffic-sink");
    const cache = new HydrationCache();
    for (const name of ["true", "null", "abc"]) {
      const served = cache.hydrate(bp, iesdFor(bp, p, name));
      expect([...served.files]).toEqual([...hydratePackage(bp, iesdFor(bp, p, name)).files]);
    }
    expect(cache.templated).toBe(0);
  });

  it("a hydration error is reported for the intent's own names, as hydrating it would", async () => {
    const p = paper().packages.find((x) => x.blueprint === "traffic-sink") as PackageIntent;
    const bp = await blueprintOf("traffic-sink");
    const cache = new HydrationCache();
    const bad = (name: string) => {
      const iesd = iesdFor(bp, p, name);
      return { ...iesd, setters: { ...iesd.setters, unknownSetter: "1" } };
    };
    expect(() => cache.hydrate(bp, bad("first"))).toThrow(HydrationError);
    expect(() => cache.hydrate(bp, bad("again"))).toThrow(/unknownSetter/);
  });
});
