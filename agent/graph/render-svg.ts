/**
 * A chain graph as a self-contained SVG: drawn from ELK's layout (graph-layout.ts), with no external
 * reference (no fonts, images, stylesheets or scripts; arrowheads are markers defined in the file) and text in
 * the generic `monospace` family, so any viewer shows it as laid out. A title on top, domains and edges as
 * nested frames, packages filled by state, links styled by kind with their label where ELK placed it, and a
 * legend of link kinds and package states below.
 *
 * Every piece of text sits in a `<g class="label …">` whose `<rect class="label-box">` is the box the layout
 * reserved for it, so a reader (or a test) can check that no two labels overlap.
 */
import { type ChainGraph, LINK_KINDS, type LinkKind } from "./chain-graph.js";
import { type Box, type ChainLayout, type LabelBox, layoutChainGraph } from "./graph-layout.js";
import { LINK_STYLES, stateStyle, TEXT, textWidth } from "./graph-style.js";

const MARGIN = 16;
const TITLE_SIZE = 14;
const LEGEND_GAP = 20;
const SWATCH = 28;
const DOMAIN_FILL = "#f9fafb";
const EDGE_FILL = "#ffffff";

/** One number, to a tenth of a pixel (keeps the file small and its bytes stable). */
function n(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function esc(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

function rect(b: Box, attrs: string): string {
  return `<rect x="${n(b.x)}" y="${n(b.y)}" width="${n(b.width)}" height="${n(b.height)}" ${attrs}/>`;
}

interface LabelOptions {
  /** Classes besides `label`. */
  cls: string;
  /** The box's fill attributes; `fill="none"` by default. */
  backing?: string;
  /** Attributes of each `<text>`. */
  textAttrs?: string;
  /** Attributes of the group (e.g. a data- attribute). */
  attrs?: string;
  size?: number;
}

/** A label: its reserved box and its lines of text, left-aligned inside it. */
function labelGroup(b: LabelBox, o: LabelOptions): string {
  const size = o.size ?? TEXT.size;
  const lines = b.lines
    .map(
      (line, i) =>
        `<text x="${n(b.x + 3)}" y="${n(b.y + 2 + i * TEXT.lineHeight + size)}"${o.textAttrs ?? ""}>${esc(line)}</text>`,
    )
    .join("");
  return `<g class="label ${o.cls}"${o.attrs ?? ""}>${rect(b, `class="label-box" ${o.backing ?? `fill="none"`}`)}${lines}</g>`;
}

const moved = (b: LabelBox, dx: number, dy: number): LabelBox => ({ ...b, x: b.x + dx, y: b.y + dy });

interface LegendItem {
  kind: "link" | "state";
  key: string;
  text: string;
}

/** The legend's entries: every link kind (the unplaced one only when drawn), then each state shown. */
function legendItems(graph: ChainGraph): LegendItem[] {
  const kinds = LINK_KINDS.filter((k) => k !== "unplaced" || graph.links.some((l) => l.kind === k));
  const states = [...new Set(graph.packages.map((p) => p.state))];
  return [
    ...kinds.map((k): LegendItem => ({ kind: "link", key: k, text: LINK_STYLES[k].title })),
    ...states.map((s): LegendItem => ({ kind: "state", key: s, text: stateStyle(s).title })),
  ];
}

/**
 * Lays out and renders a chain graph as SVG text.
 * @example await writeFile("chain.svg", renderSvg(buildChainGraph({ intent, placements, source: "plan" })));
 */
export function renderSvg(graph: ChainGraph): string {
  return svgFromLayout(graph, layoutChainGraph(graph));
}

/** Renders an already computed layout (pure). */
export function svgFromLayout(graph: ChainGraph, layout: ChainLayout): string {
  const heading = `${graph.intent}: ${graph.packages.length} packages, ${graph.links.length} links, ${graph.waves} waves (${graph.source === "plan" ? "planned" : "deployed"})`;
  const headBox: LabelBox = {
    x: MARGIN,
    y: MARGIN,
    width: textWidth(heading, TITLE_SIZE) + 6,
    height: TEXT.lineHeight + 4,
    lines: [heading],
  };
  const dx = MARGIN;
  const dy = headBox.y + headBox.height + 8;

  // The legend flows in rows under the graph, as wide as the graph (or 640 px, whichever is wider).
  const rowWidth = Math.max(layout.width, 640);
  const legendTop = dy + layout.height + LEGEND_GAP;
  const placed: { item: LegendItem; box: LabelBox }[] = [];
  let x = 0;
  let y = 0;
  let lastKind: LegendItem["kind"] | undefined;
  for (const item of legendItems(graph)) {
    const width = SWATCH + 6 + textWidth(item.text) + 6;
    if ((lastKind && lastKind !== item.kind) || (x > 0 && x + width > rowWidth)) {
      x = 0;
      y += TEXT.lineHeight + 12;
    }
    placed.push({ item, box: { x: dx + x, y: legendTop + y, width, height: TEXT.lineHeight + 4, lines: [item.text] } });
    x += width + 16;
    lastKind = item.kind;
  }
  const legendHeight = placed.length > 0 ? y + TEXT.lineHeight + 4 : 0;
  const width = Math.ceil(Math.max(dx + rowWidth, headBox.x + headBox.width) + MARGIN);
  const height = Math.ceil(legendTop + legendHeight + MARGIN);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${TEXT.family}" font-size="${TEXT.size}">`,
  );
  out.push(`<title>${esc(heading)}</title>`);
  out.push("<defs>");
  for (const kind of LINK_KINDS) {
    out.push(
      `<marker id="arrow-${kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${LINK_STYLES[kind].color}"/></marker>`,
    );
  }
  out.push("</defs>");
  out.push(rect({ x: 0, y: 0, width, height }, `fill="#ffffff"`));
  out.push(
    labelGroup(headBox, {
      cls: "heading",
      textAttrs: ` font-size="${TITLE_SIZE}" font-weight="bold"`,
      size: TITLE_SIZE,
    }),
  );

  out.push(`<g class="clusters">`);
  for (const c of layout.clusters) {
    const b = { ...c.box, x: c.box.x + dx, y: c.box.y + dy };
    const frame =
      c.kind === "domain"
        ? `fill="${DOMAIN_FILL}" stroke="#6b7280" stroke-width="1.5" rx="10"`
        : `fill="${EDGE_FILL}" stroke="#9ca3af" stroke-dasharray="5 3" rx="6"`;
    out.push(`<g class="cluster ${c.kind}" data-name="${esc(c.name)}">${rect(b, frame)}</g>`);
  }
  out.push("</g>");

  out.push(`<g class="links">`);
  for (const l of layout.links) {
    const s = LINK_STYLES[l.link.kind];
    const d = l.points.map((p, i) => `${i === 0 ? "M" : "L"}${n(p.x + dx)},${n(p.y + dy)}`).join(" ");
    out.push(
      `<g class="link" data-link="${l.link.id}" data-kind="${l.link.kind}" data-from="${esc(l.link.from)}" data-to="${esc(l.link.to)}"><path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""} marker-end="url(#arrow-${l.link.kind})"/></g>`,
    );
  }
  out.push("</g>");

  out.push(`<g class="nodes">`);
  for (const node of layout.nodes) {
    const b = { ...node.box, x: node.box.x + dx, y: node.box.y + dy };
    if (node.kind === "package" && node.package) {
      const s = stateStyle(node.package.state);
      out.push(
        `<g class="node package" data-package="${esc(node.package.name)}" data-state="${esc(node.package.state)}">${rect(b, `class="node-box" rx="6" fill="${s.fill}" stroke="${s.stroke}" stroke-width="1.5"`)}${labelGroup(moved(node.label, dx, dy), { cls: "package-text" })}</g>`,
      );
    } else {
      out.push(
        `<g class="node external" data-external="${esc(node.id)}">${rect(b, `class="node-box" rx="${n(b.height / 2)}" fill="#fffbeb" stroke="${LINK_STYLES.external.color}" stroke-dasharray="4 3"`)}${labelGroup(moved(node.label, dx, dy), { cls: "external-text" })}</g>`,
      );
    }
  }
  out.push("</g>");

  // Titles and link labels last, on a backing, so the lines that cross a frame's title band stay under them.
  out.push(`<g class="cluster-titles">`);
  for (const c of layout.clusters) {
    out.push(
      labelGroup(moved(c.title, dx, dy), {
        cls: "cluster-title",
        attrs: ` data-${c.kind}="${esc(c.name)}"`,
        backing: `fill="${c.kind === "domain" ? DOMAIN_FILL : EDGE_FILL}"`,
        textAttrs: c.kind === "domain" ? ` font-weight="bold"` : ` fill="#4b5563"`,
      }),
    );
  }
  out.push("</g>");

  out.push(`<g class="link-labels">`);
  for (const l of layout.links) {
    out.push(
      labelGroup(moved(l.label, dx, dy), {
        cls: "link-label",
        attrs: ` data-link="${l.link.id}"`,
        backing: `fill="#ffffff" fill-opacity="0.9"`,
        textAttrs: ` fill="${LINK_STYLES[l.link.kind].color}"`,
      }),
    );
  }
  out.push("</g>");

  out.push(`<g class="legend">`);
  for (const { item, box } of placed) {
    const midY = box.y + box.height / 2;
    const sample =
      item.kind === "link"
        ? linkSample(item.key as LinkKind, box.x + 2, midY)
        : rect(
            { x: box.x + 4, y: box.y + 2, width: SWATCH - 8, height: box.height - 4 },
            `rx="3" fill="${stateStyle(item.key).fill}" stroke="${stateStyle(item.key).stroke}"`,
          );
    const text: LabelBox = { ...box, x: box.x + SWATCH + 3, width: box.width - SWATCH - 3 };
    out.push(
      `<g class="legend-item" data-${item.kind}="${esc(item.key)}">${rect(box, `class="legend-box" fill="none"`)}${sample}${labelGroup(text, { cls: "legend-text" })}</g>`,
    );
  }
  out.push("</g>");
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function linkSample(kind: LinkKind, x: number, y: number): string {
  const s = LINK_STYLES[kind];
  return `<path d="M${n(x)},${n(y)} L${n(x + SWATCH - 6)},${n(y)}" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""} marker-end="url(#arrow-${kind})"/>`;
}
