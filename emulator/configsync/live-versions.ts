/**
 * What a sync's drift correction knows of the objects it applied: each one's live resourceVersion right after
 * this reconciler applied it, and the store's version up to which every one was compared with its live object.
 * A drift round then compares only the objects the store changed since ({@link ObjectStore.changesSince}), not
 * every object applied: with 10,000 objects synced and none touched since, it looks at none. When the store's
 * history no longer reaches back that far, every object is compared, as before.
 */
import type { Target } from "../api-server.js";
import type { ObjectStore } from "../store.js";
import { typeKey } from "../type-registry.js";

/** Where the store keeps an object: its type's key, namespace and name. */
const storeKey = (type: string, namespace: string | undefined, name: string) => `${type}\0${namespace ?? ""}\0${name}`;

export class LiveVersions {
  /** Per resource id, the live resourceVersion right after this reconciler applied the object. */
  readonly #versions = new Map<string, string>();
  /** Per store key of an object applied, its resource id (a store change names the object by the former). */
  readonly #ids = new Map<string, string>();
  /** The store's version up to which every object was compared (none yet: undefined). */
  #compared: number | undefined;

  /** Remembers the version an apply left. */
  set(id: string, t: Target, resourceVersion: string): void {
    this.#versions.set(id, resourceVersion);
    this.#ids.set(storeKey(typeKey(t.type), t.namespace, t.name ?? ""), id);
  }

  /** Forgets a pruned object. */
  delete(id: string, t: Target): void {
    this.#versions.delete(id);
    this.#ids.delete(storeKey(typeKey(t.type), t.namespace, t.name ?? ""));
  }

  /** Whether the live object is as this reconciler left it (its version did not move; it was not deleted). */
  untouched(store: ObjectStore, id: string, t: Target): boolean {
    const live = store.get(typeKey(t.type), t.namespace, t.name ?? "");
    return this.#versions.get(id) === live?.metadata["resourceVersion"];
  }

  /**
   * The ids of `inventory` (but those of `skip`) whose live version moved since this reconciler applied them:
   * among the objects the store changed since the last call, or among all when its history does not reach back.
   */
  moved(store: ObjectStore, inventory: ReadonlyMap<string, Target>, skip: ReadonlyMap<string, unknown>): Set<string> {
    const changes = this.#compared === undefined ? undefined : store.changesSince(this.#compared);
    this.#compared = store.resourceVersion;
    const candidates = changes
      ? changes.flatMap((e) => {
          const id = this.#ids.get(
            storeKey(e.typeKey, e.object.metadata["namespace"] as string, String(e.object.metadata["name"])),
          );
          return id === undefined ? [] : [id];
        })
      : inventory.keys();
    const out = new Set<string>();
    for (const id of candidates) {
      const t = inventory.get(id);
      if (t && !skip.has(id) && !this.untouched(store, id, t)) out.add(id);
    }
    return out;
  }
}
