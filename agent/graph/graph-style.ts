/**
 * How a chain graph looks, shared by the DOT, Mermaid and SVG renderers: a colour per package state, a stroke
 * per link kind, and the text metrics the SVG layout sizes its labels with.
 */
import type { LinkKind, PackageState } from "./chain-graph.js";

export interface StateStyle {
  fill: string;
  stroke: string;
  /** What the legend says. */
  title: string;
}

const STATES: Readonly<Record<string, StateStyle>> = {
  PLANNED: { fill: "#e0f2fe", stroke: "#0369a1", title: "planned (admitted)" },
  NOT_ADMITTED: { fill: "#fef3c7", stroke: "#b45309", title: "not admitted" },
  PENDING: { fill: "#f3f4f6", stroke: "#6b7280", title: "PENDING" },
  ADMITTED: { fill: "#e0e7ff", stroke: "#4338ca", title: "ADMITTED" },
  COMMITTED: { fill: "#dbeafe", stroke: "#1d4ed8", title: "COMMITTED" },
  SYNCED: { fill: "#cffafe", stroke: "#0e7490", title: "SYNCED" },
  READY: { fill: "#dcfce7", stroke: "#15803d", title: "READY" },
  DEGRADED: { fill: "#ffedd5", stroke: "#c2410c", title: "DEGRADED" },
  FAILED: { fill: "#fee2e2", stroke: "#b91c1c", title: "FAILED" },
  ROLLED_BACK: { fill: "#fce7f3", stroke: "#be185d", title: "ROLLED_BACK" },
  TERMINATING: { fill: "#e5e7eb", stroke: "#374151", title: "TERMINATING" },
  TERMINATED: { fill: "#e5e7eb", stroke: "#6b7280", title: "TERMINATED" },
};

const UNKNOWN_STATE: StateStyle = { fill: "#ffffff", stroke: "#9ca3af", title: "unknown" };

/** The colours of a package in this state (unknown states are white with a grey border). */
export function stateStyle(state: PackageState): StateStyle {
  return STATES[state] ?? { ...UNKNOWN_STATE, title: state === "UNKNOWN" ? "unknown" : state };
}

export interface LinkStyle {
  color: string;
  /** SVG stroke-dasharray; empty for a solid line. */
  dash: string;
  width: number;
  /** Graphviz `style`. */
  dotStyle: "solid" | "dashed" | "dotted";
  /** What the legend says. */
  title: string;
}

export const LINK_STYLES: Readonly<Record<LinkKind, LinkStyle>> = {
  "intra-edge": { color: "#1f2937", dash: "", width: 1.5, dotStyle: "solid", title: "intra-edge (same edge)" },
  "inter-edge": { color: "#2563eb", dash: "", width: 2, dotStyle: "solid", title: "inter-edge (same domain)" },
  "cross-domain": {
    color: "#7c3aed",
    dash: "8 4",
    width: 2,
    dotStyle: "dashed",
    title: "cross-domain (peer domain)",
  },
  external: { color: "#d97706", dash: "2 3", width: 2, dotStyle: "dotted", title: "external endpoint" },
  unplaced: { color: "#9ca3af", dash: "4 4", width: 1.5, dotStyle: "dashed", title: "an end not placed on an edge" },
};

/**
 * Text metrics of the SVG. Its text is set in the generic `monospace` family, whose glyphs all advance by about
 * 0.6 em in every common monospace font, so a label's width is known without measuring fonts at run time.
 */
export const TEXT = {
  family: "monospace",
  size: 12,
  /** Width of one character; slightly above 0.6 em, so a label's box always holds its text. */
  charWidth: 12 * 0.62,
  lineHeight: 16,
} as const;

/** The width of a line of SVG text, in pixels. */
export function textWidth(text: string, size: number = TEXT.size): number {
  return [...text].length * size * (TEXT.charWidth / TEXT.size);
}
