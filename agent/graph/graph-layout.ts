/**
 * The layout of a chain graph for the SVG, computed by dagre (@dagrejs/dagre, pure JavaScript): a layered
 * layout of a compound graph, where domains contain edges contain packages. Its ranks are global, so deployment
 * order holds left to right across edges and domains: a chain that goes from domain-x to a peer and back keeps
 * its order, the frames stacking where their waves overlap. Every label is sized beforehand, so dagre keeps room
 * for it. This file builds dagre's input and reads its answer; it places nothing itself.
 */
import { createRequire } from "node:module";
import type { ChainGraph, GraphExternal, GraphLink, GraphPackage } from "./chain-graph.js";
import { stateStyle, TEXT, textWidth } from "./graph-style.js";

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** A laid-out text label: its box and its lines. */
export interface LabelBox extends Box {
  lines: readonly string[];
}

export interface ClusterLayout {
  kind: "domain" | "edge";
  /** The domain, or `<domain>/<edge>`. */
  name: string;
  box: Box;
  title: LabelBox;
}

export interface NodeLayout {
  kind: "package" | "external";
  id: string;
  box: Box;
  /** The node's text, drawn inside its box. */
  label: LabelBox;
  package?: GraphPackage;
  external?: GraphExternal;
}

export interface LinkLayout {
  link: GraphLink;
  /** From the link's `from` to its `to`, bends included. */
  points: readonly Point[];
  label: LabelBox;
}

export interface ChainLayout {
  width: number;
  height: number;
  clusters: readonly ClusterLayout[];
  nodes: readonly NodeLayout[];
  links: readonly LinkLayout[];
}

/** Space between a box's border and its text. */
const INSET = 8;
/** Height of a cluster's title band. */
const TITLE_HEIGHT = TEXT.lineHeight + 4;

/** The lines drawn in a package's box. */
export function packageLines(p: GraphPackage): string[] {
  return [p.name, p.blueprint, `wave ${p.wave} · ${stateStyle(p.state).title}`];
}

/** The box a line of label text needs. */
function labelSize(text: string): { width: number; height: number } {
  return { width: Math.ceil(textWidth(text) + 6), height: TITLE_HEIGHT };
}

/*
 * The slice of dagre's API this file uses. dagre's own declarations are not imported: they fail the project's
 * strict check of library types (extensionless relative imports under NodeNext; skipLibCheck is off), so its
 * CommonJS build is loaded with require.
 */
interface DagreGraph {
  setGraph(label: Record<string, unknown>): void;
  setNode(id: string, label: NodeData): void;
  setParent(id: string, parent: string): void;
  setEdge(v: string, w: string, label: EdgeData, name: string): void;
  node(id: string): NodeData;
  edge(v: string, w: string, name: string): EdgeData | undefined;
}
interface Dagre {
  graphlib: { Graph: new (options: { compound: boolean; multigraph: boolean }) => DagreGraph };
  layout(graph: DagreGraph): void;
}
const dagre = createRequire(import.meta.url)("@dagrejs/dagre") as Dagre;

interface NodeData {
  width: number;
  height: number;
  x?: number;
  y?: number;
  [key: string]: unknown;
}
interface EdgeData {
  width?: number;
  height?: number;
  minlen?: number;
  weight?: number;
  labelpos?: "l" | "c" | "r";
  x?: number;
  y?: number;
  points?: Point[];
  reversed?: boolean;
  [key: string]: unknown;
}

/**
 * Lays out a chain graph. Links are handed to dagre pointing in deployment order (from the package deployed
 * first) and turned back for drawing; each `after` entry is an edge too, for the layout only, so waves run
 * left to right even between packages no link joins.
 *
 * Cluster titles sit in the top band of their frame. Below a frame's top border, dagre keeps `edgesep` to a
 * nested frame's border or a link's label and `(edgesep + nodesep) / 2` to a package, so both are set above the
 * band's height; a package is at least as wide as the titles of the frames around it, so a frame is never
 * narrower than its title.
 */
export function layoutChainGraph(graph: ChainGraph): ChainLayout {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({
    rankdir: "LR",
    nodesep: TITLE_HEIGHT + 12,
    edgesep: TITLE_HEIGHT + 6,
    ranksep: 40,
    marginx: 0,
    marginy: 0,
    ranker: "network-simplex",
  });
  const titleWidth = new Map<string, number>();
  for (const d of graph.domains) {
    const domainId = `domain:${d.domain}`;
    const dw = labelSize(`domain ${d.domain}`).width;
    g.setNode(domainId, { width: 0, height: 0, title: `domain ${d.domain}` });
    for (const name of d.unplaced) titleWidth.set(name, dw);
    for (const e of d.edges) {
      const edgeId = `edge:${d.domain}/${e.edge}`;
      g.setNode(edgeId, { width: 0, height: 0, title: `edge ${e.edge}` });
      g.setParent(edgeId, domainId);
      for (const name of e.packages) titleWidth.set(name, Math.max(dw, labelSize(`edge ${e.edge}`).width));
    }
  }
  for (const p of graph.packages) {
    const lines = packageLines(p);
    g.setNode(`package:${p.name}`, {
      width: Math.ceil(Math.max(Math.max(...lines.map((l) => textWidth(l))) + 2 * INSET, titleWidth.get(p.name) ?? 0)),
      height: lines.length * TEXT.lineHeight + 2 * INSET,
    });
    g.setParent(`package:${p.name}`, p.edge ? `edge:${p.domain}/${p.edge}` : `domain:${p.domain}`);
  }
  for (const x of graph.externals) {
    g.setNode(x.id, {
      width: Math.ceil(textWidth(`${x.host}:${x.port}`) + 2 * INSET),
      height: TEXT.lineHeight + 2 * INSET,
    });
  }
  const end = (id: string) => (id.startsWith("external:") ? id : `package:${id}`);
  const orderOf = new Map(graph.packages.map((p) => [p.name, p.order]));
  const rank = (id: string) => orderOf.get(id) ?? Number.MAX_SAFE_INTEGER;
  const ends = new Map<string, [string, string]>();
  for (const l of graph.links) {
    const backwards = rank(l.to) < rank(l.from);
    const size = labelSize(l.label);
    const pair: [string, string] = backwards ? [end(l.to), end(l.from)] : [end(l.from), end(l.to)];
    ends.set(l.id, pair);
    g.setEdge(pair[0], pair[1], { ...size, labelpos: "c", minlen: 1, weight: 1, backwards }, l.id);
  }
  for (const p of graph.packages) {
    for (const before of p.after) {
      g.setEdge(`package:${before}`, `package:${p.name}`, { minlen: 1, weight: 1 }, `after:${before}:${p.name}`);
    }
  }
  dagre.layout(g);
  return readLayout(graph, g, ends);
}

/** A box from dagre's centre and size. */
function boxOf(n: NodeData): Box {
  return { x: (n.x ?? 0) - n.width / 2, y: (n.y ?? 0) - n.height / 2, width: n.width, height: n.height };
}

function readLayout(graph: ChainGraph, g: DagreGraph, ends: ReadonlyMap<string, [string, string]>): ChainLayout {
  const clusters: ClusterLayout[] = [];
  for (const d of graph.domains) {
    const ids = [`domain:${d.domain}`, ...d.edges.map((e) => `edge:${d.domain}/${e.edge}`)];
    for (const id of ids) {
      const n = g.node(id);
      const b = boxOf(n);
      const title = String(n["title"]);
      clusters.push({
        kind: id.startsWith("domain:") ? "domain" : "edge",
        name: id.slice(id.indexOf(":") + 1),
        box: b,
        title: { x: b.x + INSET, y: b.y + 2, ...labelSize(title), lines: [title] },
      });
    }
  }
  const nodes: NodeLayout[] = [];
  for (const p of graph.packages) {
    const b = boxOf(g.node(`package:${p.name}`));
    nodes.push({ kind: "package", id: p.name, box: b, label: inner(b, packageLines(p)), package: p });
  }
  for (const x of graph.externals) {
    const b = boxOf(g.node(x.id));
    nodes.push({ kind: "external", id: x.id, box: b, label: inner(b, [`${x.host}:${x.port}`]), external: x });
  }
  const links: LinkLayout[] = graph.links.map((link) => {
    const [v, w] = ends.get(link.id) as [string, string];
    const data = g.edge(v, w, link.id);
    const points = (data?.points ?? []).map((p) => ({ x: p.x, y: p.y }));
    const size = labelSize(link.label);
    return {
      link,
      points: data?.["backwards"] ? points.reverse() : points,
      label: { x: (data?.x ?? 0) - size.width / 2, y: (data?.y ?? 0) - size.height / 2, ...size, lines: [link.label] },
    };
  });
  const all = [...clusters.map((c) => c.box), ...nodes.map((n) => n.box)];
  return {
    width: Math.max(0, ...all.map((b) => b.x + b.width), ...links.map((l) => l.label.x + l.label.width)),
    height: Math.max(0, ...all.map((b) => b.y + b.height), ...links.map((l) => l.label.y + l.label.height)),
    clusters,
    nodes,
    links,
  };
}

/** The text block inside a node's box. */
function inner(b: Box, lines: readonly string[]): LabelBox {
  return {
    x: b.x + INSET,
    y: b.y + INSET,
    width: b.width - 2 * INSET,
    height: lines.length * TEXT.lineHeight,
    lines,
  };
}
