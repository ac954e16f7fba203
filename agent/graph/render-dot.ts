/**
 * A chain graph as Graphviz DOT, for people who render with `dot`: one cluster per domain holding one cluster
 * per edge, a node per package (filled by its state) and per external endpoint, an edge per link (styled and
 * labelled by its kind, port and protocol), and a legend. Ranks follow deployment order: invisible edges carry
 * each package's `after` list, and links do not constrain the ranks.
 */
import { type ChainGraph, LINK_KINDS, type GraphPackage } from "./chain-graph.js";
import { LINK_STYLES, stateStyle } from "./graph-style.js";

/** A DOT string literal. */
function q(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** Text for a Graphviz HTML-like label. */
function html(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function packageNode(p: GraphPackage, indent: string): string {
  const s = stateStyle(p.state);
  const label = `${p.name}\n${p.blueprint}\nwave ${p.wave} · ${s.title}`;
  return `${indent}${q(p.name)} [label=${q(label)}, fillcolor=${q(s.fill)}, color=${q(s.stroke)}];\n`;
}

/** Renders a chain graph as DOT. */
export function renderDot(graph: ChainGraph): string {
  const pkg = new Map(graph.packages.map((p) => [p.name, p]));
  let out = `digraph ${q(graph.intent)} {\n`;
  out += `  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.4, ranksep=0.9, label=${q(`${graph.intent} (${graph.source})`)}, labelloc=t];\n`;
  out += `  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];\n`;
  out += `  edge [fontname="Helvetica", fontsize=10];\n`;
  graph.domains.forEach((d, di) => {
    out += `  subgraph ${q(`cluster_domain_${di}`)} {\n    label=${q(`domain ${d.domain}`)}; style="rounded"; color="#6b7280";\n`;
    d.edges.forEach((e, ei) => {
      out += `    subgraph ${q(`cluster_domain_${di}_edge_${ei}`)} {\n      label=${q(`edge ${e.edge}`)}; style="rounded,dashed"; color="#9ca3af";\n`;
      for (const name of e.packages) out += packageNode(pkg.get(name) as GraphPackage, "      ");
      out += "    }\n";
    });
    for (const name of d.unplaced) out += packageNode(pkg.get(name) as GraphPackage, "    ");
    out += "  }\n";
  });
  for (const x of graph.externals) {
    out += `  ${q(x.id)} [label=${q(`${x.host}:${x.port}`)}, shape=ellipse, style="dashed", color=${q(LINK_STYLES.external.color)}];\n`;
  }
  for (const l of graph.links) {
    const s = LINK_STYLES[l.kind];
    out += `  ${q(l.from)} -> ${q(l.to)} [label=${q(l.label)}, color=${q(s.color)}, fontcolor=${q(s.color)}, style=${s.dotStyle}, penwidth=${s.width}, constraint=false];\n`;
  }
  // Deployment order, left to right: one invisible edge per `after` entry.
  for (const p of graph.packages) {
    for (const before of p.after) out += `  ${q(before)} -> ${q(p.name)} [style=invis];\n`;
  }
  // External endpoints sit right of their callers.
  for (const l of graph.links) if (l.kind === "external") out += `  ${q(l.from)} -> ${q(l.to)} [style=invis];\n`;
  out += legend(graph);
  out += "}\n";
  return out;
}

function legend(graph: ChainGraph): string {
  const rows: string[] = [];
  for (const kind of LINK_KINDS) {
    if (kind === "unplaced" && !graph.links.some((l) => l.kind === kind)) continue;
    const s = LINK_STYLES[kind];
    rows.push(
      `<TR><TD><FONT COLOR="${s.color}">${s.dotStyle === "solid" ? "———" : s.dotStyle === "dashed" ? "- - -" : "·····"}</FONT></TD><TD ALIGN="LEFT">${html(s.title)}</TD></TR>`,
    );
  }
  for (const state of [...new Set(graph.packages.map((p) => p.state))]) {
    const s = stateStyle(state);
    rows.push(`<TR><TD BGCOLOR="${s.fill}" COLOR="${s.stroke}">   </TD><TD ALIGN="LEFT">${html(s.title)}</TD></TR>`);
  }
  return `  subgraph "cluster_legend" {\n    label="legend"; style="rounded"; color="#d1d5db";\n    "_legend" [shape=plaintext, style="", label=<<TABLE BORDER="0" CELLSPACING="2">${rows.join("")}</TABLE>>];\n  }\n`;
}
