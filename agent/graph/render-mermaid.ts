/**
 * A chain graph as a Mermaid flowchart (left to right), for Markdown that renders Mermaid: a subgraph per domain
 * holding a subgraph per edge, one node per package (a class per state) and per external endpoint, and one
 * edge per link, labelled with its kind, port and protocol and styled by kind.
 */
import type { ChainGraph, GraphPackage } from "./chain-graph.js";
import { LINK_STYLES, stateStyle } from "./graph-style.js";

/**
 * The Mermaid id of a package. Package names are DNS-1035 labels (no `_`), so swapping `-` for `_` keeps them
 * distinct, and the prefix keeps them clear of Mermaid's keywords (`end`, `graph`, …).
 */
export function mermaidId(packageName: string): string {
  return `pkg_${packageName.replace(/-/g, "_")}`;
}

/** Text inside a quoted Mermaid label. */
function text(value: string): string {
  return value.replace(/&/g, "#amp;").replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

const stateClass = (state: string) => `state_${state.toLowerCase().replace(/[^a-z0-9]/g, "_")}`;

/** Renders a chain graph as a Mermaid flowchart. */
export function renderMermaid(graph: ChainGraph): string {
  const pkg = new Map(graph.packages.map((p) => [p.name, p]));
  const externalId = new Map(graph.externals.map((x, i) => [x.id, `ext_${i}`]));
  const node = (p: GraphPackage, indent: string) =>
    `${indent}${mermaidId(p.name)}["${[p.name, p.blueprint, `wave ${p.wave} · ${stateStyle(p.state).title}`].map(text).join("<br/>")}"]\n`;
  let out = `---\ntitle: "${text(`${graph.intent} (${graph.source})`)}"\n---\nflowchart LR\n`;
  graph.domains.forEach((d, di) => {
    out += `  subgraph domain_${di}["domain ${text(d.domain)}"]\n`;
    d.edges.forEach((e, ei) => {
      out += `    subgraph domain_${di}_edge_${ei}["edge ${text(e.edge)}"]\n`;
      for (const name of e.packages) out += node(pkg.get(name) as GraphPackage, "      ");
      out += "    end\n";
    });
    for (const name of d.unplaced) out += node(pkg.get(name) as GraphPackage, "    ");
    out += "  end\n";
  });
  for (const x of graph.externals) out += `  ${externalId.get(x.id)}(["${text(`${x.host}:${x.port}`)}"])\n`;
  for (const l of graph.links) {
    const to = externalId.get(l.to) ?? mermaidId(l.to);
    out += `  ${mermaidId(l.from)} -->|"${text(l.label)}"| ${to}\n`;
  }
  graph.links.forEach((l, i) => {
    const s = LINK_STYLES[l.kind];
    out += `  linkStyle ${i} stroke:${s.color},stroke-width:${s.width}px${s.dash ? `,stroke-dasharray:${s.dash}` : ""}\n`;
  });
  for (const state of [...new Set(graph.packages.map((p) => p.state))]) {
    const s = stateStyle(state);
    out += `  classDef ${stateClass(state)} fill:${s.fill},stroke:${s.stroke},color:#111827\n`;
    const members = graph.packages.filter((p) => p.state === state).map((p) => mermaidId(p.name));
    out += `  class ${members.join(",")} ${stateClass(state)}\n`;
  }
  return out;
}
