/** Label and field selectors, parsed as the API server parses them (`a=b,c!=d,e in (f,g),!h,i`). */
import { badRequest } from "./status.js";

export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

/** Splits on commas that are not inside parentheses. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of text) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Parses a label selector. @throws ApiError 400 */
export function parseLabelSelector(text: string | null): Requirement[] {
  if (!text) return [];
  return terms(text).map((term) => {
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m)
      return {
        key: m[1] as string,
        op: m[2] as "in" | "notin",
        values: (m[3] as string)
          .split(",")
          .map((v) => v.trim())
          .filter(Boolean),
      };
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (m) return { key: m[1] as string, op: m[2] === "!=" ? "!=" : "=", value: m[3] as string };
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m) return { key: m[2] as string, op: m[1] ? "!exists" : "exists" };
    throw badRequest(`unable to parse requirement: ${JSON.stringify(term)}`);
  });
}

/** Whether labels satisfy every requirement. */
export function matchesLabels(labels: Record<string, string> | undefined, reqs: readonly Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case "=":
        return has && l[r.key] === r.value;
      case "!=":
        return !has || l[r.key] !== r.value;
      case "in":
        return has && r.values.includes(l[r.key] as string);
      case "notin":
        return !has || !r.values.includes(l[r.key] as string);
      case "exists":
        return has;
      case "!exists":
        return !has;
      default:
        // Unreachable: the cases cover every op, and `satisfies never` stops compiling when one is added.
        r satisfies never;
        return false;
    }
  });
}

/**
 * The first requirement that names the values a label must have (`a=b`, `a in (b,c)`): an object it selects has
 * one of them, so a list can start from the objects with those labels.
 */
export function namedValues(reqs: readonly Requirement[]): { key: string; values: readonly string[] } | undefined {
  for (const r of reqs) {
    if (r.op === "=") return { key: r.key, values: [r.value] };
    if (r.op === "in") return { key: r.key, values: r.values };
  }
  return undefined;
}

const FIELDS: Record<string, (o: Record<string, unknown>) => string> = {
  "metadata.name": (o) => String((o["metadata"] as { name?: string }).name ?? ""),
  "metadata.namespace": (o) => String((o["metadata"] as { namespace?: string }).namespace ?? ""),
  "spec.nodeName": (o) => String((o["spec"] as { nodeName?: string } | undefined)?.nodeName ?? ""),
  "status.phase": (o) => String((o["status"] as { phase?: string } | undefined)?.phase ?? ""),
  "spec.unschedulable": (o) => String((o["spec"] as { unschedulable?: boolean } | undefined)?.unschedulable ?? false),
};

/** Parses a field selector (only `=`/`==`/`!=` on the fields the server indexes). @throws ApiError 400 */
export function parseFieldSelector(text: string | null): (o: Record<string, unknown>) => boolean {
  if (!text) return () => true;
  const checks = terms(text).map((term) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: ${JSON.stringify(term)}`);
    const get = FIELDS[m[1] as string];
    if (!get) throw badRequest(`field label not supported: ${m[1]}`);
    const want = m[3] as string;
    return m[2] === "!="
      ? (o: Record<string, unknown>) => get(o) !== want
      : (o: Record<string, unknown>) => get(o) === want;
  });
  return (o) => checks.every((c) => c(o));
}
