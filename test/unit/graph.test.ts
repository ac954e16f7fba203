/**
 * `camino intent graph`'s pure part: the graph model (link kinds from the placement), the SVG drawn from ELK's
 * layout (valid XML, self-contained, every package and link, no two labels overlapping, left to right in
 * deployment order), the Mermaid text, and the committed example kept in step with the code.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { buildChainGraph, classifyLink, type PackagePlacement } from "../../agent/graph/chain-graph.js";
import { renderMermaid } from "../../agent/graph/render-mermaid.js";
import { renderSvg } from "../../agent/graph/render-svg.js";
import { parseIntentText } from "../../agent/intent/load.js";
import { EXAMPLE_FILE, renderExample } from "../../scripts/graph-example.js";

const ROOT = join(import.meta.dirname, "..", "..");
const chain = parseIntentText(readFileSync(join(ROOT, "test", "fixtures", "intents", "graph-chain.yaml"), "utf8"));

/** Placement of graph-chain: two edges here, two packages in domain-y (on edge-3), pcrf not placed. */
const PLACEMENT: PackagePlacement[] = [
  { package: "ingress", domain: "domain-x", edge: "edge-1" },
  { package: "upf", domain: "domain-x", edge: "edge-1" },
  { package: "smf", domain: "domain-x", edge: "edge-2" },
  { package: "analytics", domain: "domain-y", edge: "edge-3" },
  { package: "sink", domain: "domain-x", edge: "edge-2" },
  { package: "pcrf", domain: "domain-x" },
  { package: "db", domain: "domain-y", edge: "edge-3" },
  { package: "audit", domain: "domain-x", edge: "edge-1" },
];
const STATES = new Map([
  ["ingress", "READY"],
  ["upf", "READY"],
  ["smf", "DEGRADED"],
  ["analytics", "COMMITTED"],
  ["sink", "FAILED"],
  ["db", "PENDING"],
  ["audit", "PENDING"],
]);
const graph = buildChainGraph({ intent: chain, placements: PLACEMENT, states: STATES, source: "deployment" });

describe("the chain's graph model", () => {
  it("classifies each link by where its ends were placed", () => {
    expect(graph.links.map((l) => [l.from, l.to, l.kind, l.label])).toEqual([
      ["ingress", "upf", "intra-edge", "intra-edge 8805/http"],
      ["upf", "smf", "inter-edge", "inter-edge 8806/grpc"],
      ["smf", "ingress", "inter-edge", "inter-edge 8443/http2"],
      ["upf", "analytics", "cross-domain", "cross-domain 8080/grpc"],
      ["upf", "sink", "inter-edge", "inter-edge 5201/tcp"],
      ["analytics", "db", "intra-edge", "intra-edge 5432/tcp"],
      ["sink", "external:metrics.example.com:443", "external", "external 443/tls"],
      ["ingress", "external:10.0.0.53:53", "external", "external 53/tcp"],
      ["pcrf", "smf", "unplaced", "unplaced 3868/tcp"],
    ]);
    expect(classifyLink({ domain: "a", edge: "e" }, { domain: "b", edge: "e" })).toBe("cross-domain");
    expect(classifyLink({ domain: "a" }, { domain: "b" })).toBe("cross-domain");
  });

  it("groups packages by domain and edge, and gives each its wave and state", () => {
    expect(graph.domains).toEqual([
      {
        domain: "domain-x",
        edges: [
          { edge: "edge-1", packages: ["ingress", "upf", "audit"] },
          { edge: "edge-2", packages: ["smf", "sink"] },
        ],
        unplaced: ["pcrf"],
      },
      { domain: "domain-y", edges: [{ edge: "edge-3", packages: ["analytics", "db"] }], unplaced: [] },
    ]);
    const byName = new Map(graph.packages.map((p) => [p.name, p]));
    expect(byName.get("db")).toMatchObject({ wave: 4, state: "PENDING", domain: "domain-y", edge: "edge-3" });
    // No record of pcrf in the deployment: shown as unknown, not as some state it is not in.
    expect(byName.get("pcrf")?.state).toBe("UNKNOWN");
    const plan = buildChainGraph({ intent: chain, placements: PLACEMENT, source: "plan" });
    expect(new Set(plan.packages.map((p) => p.state))).toEqual(new Set(["PLANNED"]));
  });
});

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
type XmlNode = Record<string, unknown>;

/** Every element named `name` under `node`, depth first. */
function elements(node: unknown, name: string, out: XmlNode[] = []): XmlNode[] {
  if (Array.isArray(node)) {
    for (const n of node) elements(n, name, out);
  } else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === name) for (const v of Array.isArray(value) ? value : [value]) out.push(v as XmlNode);
      if (!key.startsWith("@_")) elements(value, name, out);
    }
  }
  return out;
}

const attr = (el: XmlNode, name: string) => el[`@_${name}`] as string | undefined;
const rectOf = (el: XmlNode): Rect => ({
  x: Number(attr(el, "x")),
  y: Number(attr(el, "y")),
  width: Number(attr(el, "width")),
  height: Number(attr(el, "height")),
});
const classes = (el: XmlNode) => (attr(el, "class") ?? "").split(/\s+/);
const overlap = (a: Rect, b: Rect) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const texts = (el: XmlNode): string[] =>
  elements(el, "text").map((t) => String(typeof t === "object" ? (t["#text"] ?? "") : t));

/** Parses SVG text with a real XML parser, after checking it is well-formed. */
function parseSvg(svg: string): XmlNode {
  expect(XMLValidator.validate(svg)).toBe(true);
  return new XMLParser({
    ignoreAttributes: false,
    parseTagValue: false,
    isArray: (name, _path, _leaf, isAttribute) => !isAttribute && name !== "svg",
  }).parse(svg) as XmlNode;
}

/** Every label group: its class list, its reserved box and its text lines. */
function labels(doc: XmlNode) {
  return elements(doc, "g")
    .filter((g) => classes(g).includes("label"))
    .map((g) => {
      const box = elements(g, "rect").find((r) => classes(r).includes("label-box"));
      expect(box, `label ${texts(g).join(" ")} has a box`).toBeDefined();
      return { classes: classes(g), box: rectOf(box as XmlNode), texts: texts(g), group: g };
    });
}

describe("the SVG", () => {
  const svg = renderSvg(graph);
  const doc = parseSvg(svg);

  it("is an SVG document that needs nothing outside itself", () => {
    const root = doc["svg"] as XmlNode;
    expect(attr(root, "xmlns")).toBe("http://www.w3.org/2000/svg");
    expect(svg).not.toMatch(/<(image|script|foreignObject|style|use)\b/);
    expect(svg).not.toMatch(/\bhref=|@import|@font-face|https?:\/\/(?!www\.w3\.org\/2000\/svg")/);
    // Every url(...) points inside the file, at a marker it defines.
    const ids = new Set(elements(doc, "marker").map((m) => attr(m, "id")));
    for (const [, id] of svg.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(id);
    expect(svg).not.toMatch(/url\((?!#)/);
    // Generic font families only.
    for (const [, family] of svg.matchAll(/font-family="([^"]+)"/g)) expect(family).toBe("monospace");
  });

  it("draws every package (coloured by its state) and every link with its label", () => {
    const pkgs = elements(doc, "g").filter((g) => attr(g, "data-package"));
    expect(pkgs.map((g) => attr(g, "data-package")).sort()).toEqual(graph.packages.map((p) => p.name).sort());
    for (const g of pkgs) {
      const p = graph.packages.find((x) => x.name === attr(g, "data-package"));
      expect(attr(g, "data-state")).toBe(p?.state);
      expect(texts(g)).toContain(p?.name);
    }
    const ready = pkgs.find((g) => attr(g, "data-package") === "upf") as XmlNode;
    const failed = pkgs.find((g) => attr(g, "data-package") === "sink") as XmlNode;
    const fill = (g: XmlNode) => attr(elements(g, "rect")[0] as XmlNode, "fill");
    expect(fill(ready)).not.toBe(fill(failed));
    expect(elements(doc, "g").filter((g) => attr(g, "data-external")).length).toBe(2);

    const links = elements(doc, "g").filter((g) => classes(g).includes("link"));
    expect(links.map((g) => [attr(g, "data-from"), attr(g, "data-to"), attr(g, "data-kind")])).toEqual(
      graph.links.map((l) => [l.from, l.to, l.kind]),
    );
    // Each line starts on its caller's box and ends, arrowhead first, on the box of what it calls.
    const boxes = new Map(
      elements(doc, "g")
        .filter((g) => attr(g, "data-package") ?? attr(g, "data-external"))
        .map((g) => [attr(g, "data-package") ?? attr(g, "data-external"), rectOf(elements(g, "rect")[0] as XmlNode)]),
    );
    const touches = (p: number[], b: Rect) =>
      p[0]! >= b.x - 1 && p[0]! <= b.x + b.width + 1 && p[1]! >= b.y - 1 && p[1]! <= b.y + b.height + 1;
    for (const g of links) {
      const path = elements(g, "path")[0] as XmlNode;
      const points = [...(attr(path, "d") ?? "").matchAll(/[ML]([\d.-]+),([\d.-]+)/g)].map((m) => [
        Number(m[1]),
        Number(m[2]),
      ]);
      expect(points.length).toBeGreaterThan(1);
      expect(
        touches(points[0]!, boxes.get(attr(g, "data-from")) as Rect),
        `${attr(g, "data-link")} starts at its caller`,
      ).toBe(true);
      expect(
        touches(points.at(-1)!, boxes.get(attr(g, "data-to")) as Rect),
        `${attr(g, "data-link")} ends at its callee`,
      ).toBe(true);
      expect(attr(path, "marker-end")).toBe(`url(#arrow-${attr(g, "data-kind")})`);
    }
    const linkLabels = labels(doc).filter((l) => l.classes.includes("link-label"));
    expect(linkLabels.map((l) => l.texts[0])).toEqual(graph.links.map((l) => l.label));
  });

  it("has a legend of the link kinds and of the states shown", () => {
    const items = elements(doc, "g").filter((g) => classes(g).includes("legend-item"));
    expect(items.map((g) => attr(g, "data-link")).filter(Boolean)).toEqual([
      "intra-edge",
      "inter-edge",
      "cross-domain",
      "external",
      "unplaced",
    ]);
    expect(new Set(items.map((g) => attr(g, "data-state")).filter(Boolean))).toEqual(
      new Set(["READY", "DEGRADED", "COMMITTED", "FAILED", "PENDING", "UNKNOWN"]),
    );
  });

  it("lets no two labels overlap, keeps link labels off the packages, and each text inside its box", () => {
    const all = labels(doc);
    expect(all.length).toBeGreaterThan(graph.packages.length + graph.links.length + 5);
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        const a = all[i] as (typeof all)[number];
        const b = all[j] as (typeof all)[number];
        expect(overlap(a.box, b.box), `"${a.texts.join(" ")}" overlaps "${b.texts.join(" ")}"`).toBe(false);
      }
    }
    const nodeBoxes = elements(doc, "rect")
      .filter((r) => classes(r).includes("node-box"))
      .map(rectOf);
    for (const l of all.filter((x) => x.classes.includes("link-label"))) {
      for (const n of nodeBoxes) expect(overlap(l.box, n), `"${l.texts[0]}" lies on a package`).toBe(false);
    }
    // Each line starts inside its box and fits its width at 0.6 em per character (monospace).
    for (const l of all) {
      const size = Number(attr(l.group, "font-size") ?? 12);
      for (const t of elements(l.group, "text")) {
        const x = Number(attr(t, "x"));
        const y = Number(attr(t, "y"));
        const line = String(t["#text"] ?? "");
        const fontSize = Number(attr(t, "font-size") ?? size);
        expect(x).toBeGreaterThanOrEqual(l.box.x);
        expect(x + line.length * 0.6 * fontSize).toBeLessThanOrEqual(l.box.x + l.box.width + 0.5);
        expect(y - fontSize).toBeGreaterThanOrEqual(l.box.y - 0.5);
        expect(y).toBeLessThanOrEqual(l.box.y + l.box.height + 0.5);
      }
    }
  });

  it("runs left to right in deployment order", () => {
    const left = new Map(
      elements(doc, "g")
        .filter((g) => attr(g, "data-package"))
        .map((g) => [attr(g, "data-package"), rectOf(elements(g, "rect")[0] as XmlNode)] as const),
    );
    for (const p of chain.packages) {
      for (const before of p.after) {
        const a = left.get(before) as Rect;
        const b = left.get(p.name) as Rect;
        expect(a.x + a.width, `${before} ends left of ${p.name}`).toBeLessThan(b.x);
      }
    }
  });

  it("is the same, byte for byte, every time", () => {
    expect(renderSvg(graph)).toBe(svg);
  });
});

describe("a chain of one package", () => {
  it("draws it alone, placed nowhere, with no links", () => {
    const lone = parseIntentText(
      "apiVersion: camino.io/v1\nkind: DeploymentIntent\nmetadata: {name: lone}\nspec:\n  packages:\n    - {name: only, blueprint: upf}\n",
    );
    const g = buildChainGraph({ intent: lone, placements: [], source: "plan" });
    expect(g.domains).toEqual([{ domain: "?", edges: [], unplaced: ["only"] }]);
    const doc = parseSvg(renderSvg(g));
    expect(elements(doc, "g").filter((x) => attr(x, "data-package")).length).toBe(1);
    expect(elements(doc, "g").filter((x) => classes(x).includes("link"))).toHaveLength(0);
    expect(renderMermaid(g).match(/-->/g)).toBeNull();
  });
});

describe("the Mermaid flowchart", () => {
  const text = renderMermaid(graph);

  it("has one node per package and external endpoint, and one edge per link", () => {
    const nodes = [...text.matchAll(/^\s*(\w+)(\["|\(\[")/gm)].map((m) => m[1]);
    expect(nodes.filter((id) => id?.startsWith("pkg_")).sort()).toEqual(
      graph.packages.map((p) => `pkg_${p.name}`).sort(),
    );
    expect(nodes.filter((id) => id?.startsWith("ext_"))).toHaveLength(graph.externals.length);
    expect(text).toContain('pkg_sink["sink<br/>traffic-sink<br/>wave 3 · FAILED"]');
    const edges = [...text.matchAll(/^\s*(\w+) -->\|"([^"]*)"\| (\w+)$/gm)].map((m) => [m[1], m[2], m[3]]);
    expect(edges).toHaveLength(graph.links.length);
    expect(edges[0]).toEqual(["pkg_ingress", "intra-edge 8805/http", "pkg_upf"]);
    expect(edges.map((e) => e[1])).toEqual(graph.links.map((l) => l.label));
    expect(text.match(/^\s*linkStyle /gm)).toHaveLength(graph.links.length);
  });

  it("nests edges in domains and opens a flowchart left to right", () => {
    expect(text).toMatch(/^flowchart LR$/m);
    expect(text).toContain('subgraph domain_1["domain domain-y"]\n    subgraph domain_1_edge_0["edge edge-3"]');
    expect(text.match(/^\s*subgraph /gm)).toHaveLength(5);
    expect(text.match(/^\s*end$/gm)).toHaveLength(5);
  });
});

describe("the committed example", () => {
  it(`${EXAMPLE_FILE} is what scripts/graph-example.ts renders today`, async () => {
    expect(readFileSync(join(ROOT, EXAMPLE_FILE), "utf8")).toBe(await renderExample(ROOT));
  });
});
