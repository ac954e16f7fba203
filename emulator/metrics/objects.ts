/** Reading Kubernetes objects as plain JSON: typed getters, quantities, owner references. */
import { parseQuantity, toMilli, toUnits, type Quantity } from "../../common/quantity.js";

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
export const at = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);
export const str = (o: unknown, ...path: string[]): string => {
  const v = at(o, ...path);
  return typeof v === "string" ? v : "";
};
export const int = (o: unknown, ...path: string[]): number | undefined => {
  const v = at(o, ...path);
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
};
export const objects = (o: unknown, ...path: string[]): Obj[] => {
  const v = at(o, ...path);
  return Array.isArray(v) ? v.filter(isObj) : [];
};
export const stringMap = (o: unknown, ...path: string[]): Record<string, string> => {
  const v = at(o, ...path);
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
};

export function quantity(v: unknown): Quantity | undefined {
  const text = typeof v === "number" ? String(v) : v;
  if (typeof text !== "string") return undefined;
  try {
    return parseQuantity(text);
  } catch {
    return undefined;
  }
}

/** `MilliValue() / 1000`: cores for CPU, exact bytes for whole-byte quantities. */
export const milliValue = (q: Quantity): number => Number(toMilli(q)) / 1000;
/** `Value()`: whole units, rounded up. */
export const unitValue = (q: Quantity): number => Number(toUnits(q));

export function quantities(o: unknown, ...path: string[]): [string, Quantity][] {
  const v = at(o, ...path);
  if (!isObj(v)) return [];
  const out: [string, Quantity][] = [];
  for (const [name, raw] of Object.entries(v)) {
    const q = quantity(raw);
    if (q) out.push([name, q]);
  }
  return out;
}

export interface OwnerRef {
  kind: string;
  name: string;
  controller: boolean;
}

export const ownerRefs = (o: unknown): OwnerRef[] =>
  objects(o, "metadata", "ownerReferences").map((r) => ({
    kind: str(r, "kind"),
    name: str(r, "name"),
    controller: r["controller"] === true,
  }));

/** metav1.GetControllerOf: the owner reference with `controller: true`. */
export const controllerOf = (o: unknown): OwnerRef | undefined => ownerRefs(o).find((r) => r.controller);
