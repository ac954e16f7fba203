/**
 * Hydrated packages remembered by what determines them: the blueprint (repository, folder, commit) and the
 * IESD. Hydration is deterministic, so an entry is exactly what hydrating again would give — re-planning an
 * intent, or submitting one just planned, does not hydrate twice. Bounded; the oldest entry goes first.
 */
import { createHash } from "node:crypto";
import type { Blueprint } from "./blueprint.js";
import { hydratePackage, type HydratedPackage } from "./hydrate.js";
import type { Iesd } from "./iesd.js";

export class HydrationCache {
  readonly #entries = new Map<string, HydratedPackage>();
  readonly #size: number;
  hits = 0;
  misses = 0;

  /** @param size entries kept (default 512) */
  constructor(size = 512) {
    this.#size = size;
  }

  /** Hydrates, or returns the identical earlier result. */
  hydrate(blueprint: Blueprint, iesd: Iesd): HydratedPackage {
    const key = createHash("sha256")
      .update(`${iesd.blueprint.repository}\0${blueprint.path}\0${iesd.blueprint.commit}\0${JSON.stringify(iesd)}`)
      .digest("hex");
    const hit = this.#entries.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const result = hydratePackage(blueprint, iesd);
    if (this.#entries.size >= this.#size) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, result);
    return result;
  }
}
