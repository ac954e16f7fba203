/** The resource types currently served: the built-in ones and those CustomResourceDefinitions add. */
import { builtinTypes, groupVersion, typesOfCrd, type ResourceType } from "./resources.js";

export class TypeRegistry {
  readonly #types: ResourceType[] = builtinTypes();
  /**
   * The first type of each "group/version/plural" and "group/version/kind", made when first asked for and dropped
   * when a CRD changes the types: every request and every object ConfigSync applies looks its type up.
   */
  #index?: { byPlural: Map<string, ResourceType>; byKind: Map<string, ResourceType> };
  #revision = 0;

  /** A number that moves whenever a CRD adds, changes or removes types. */
  get revision(): number {
    return this.#revision;
  }

  all(): readonly ResourceType[] {
    return this.#types;
  }

  /** The type served at `/apis/<group>/<version>/<plural>` (group "" for `/api/v1`). */
  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.#indexed().byPlural.get(`${group}/${version}/${plural}`);
  }

  /** The type of objects of `kind` in `group`/`version` (group "" for the core group). */
  findKind(group: string, version: string, kind: string): ResourceType | undefined {
    return this.#indexed().byKind.get(`${group}/${version}/${kind}`);
  }

  #indexed(): { byPlural: Map<string, ResourceType>; byKind: Map<string, ResourceType> } {
    if (this.#index) return this.#index;
    const byPlural = new Map<string, ResourceType>();
    const byKind = new Map<string, ResourceType>();
    // The first of the list wins, as a search of the list from its start finds it.
    for (const t of this.#types) {
      const plural = `${t.group}/${t.version}/${t.plural}`;
      const kind = `${t.group}/${t.version}/${t.kind}`;
      if (!byPlural.has(plural)) byPlural.set(plural, t);
      if (!byKind.has(kind)) byKind.set(kind, t);
    }
    this.#index = { byPlural, byKind };
    return this.#index;
  }

  /** Group versions in the order discovery lists them (core first). */
  groupVersions(): { group: string; version: string }[] {
    const seen = new Map<string, { group: string; version: string }>();
    for (const t of this.#types) seen.set(groupVersion(t), { group: t.group, version: t.version });
    return [...seen.values()];
  }

  /** Adds (or replaces) the types of a CRD. */
  addCrd(crd: Record<string, unknown>): void {
    this.#index = undefined;
    this.#revision++;
    for (const t of typesOfCrd(crd)) {
      const i = this.#types.findIndex((x) => x.group === t.group && x.version === t.version && x.plural === t.plural);
      if (i >= 0) this.#types[i] = t;
      else this.#types.push(t);
    }
  }

  /** Removes the types of a CRD; returns them. */
  removeCrd(crd: Record<string, unknown>): ResourceType[] {
    this.#index = undefined;
    this.#revision++;
    const gone = typesOfCrd(crd);
    for (const t of gone) {
      const i = this.#types.findIndex(
        (x) => x.group === t.group && x.version === t.version && x.plural === t.plural && !x.builtin,
      );
      if (i >= 0) this.#types.splice(i, 1);
    }
    return gone;
  }
}

/** The storage key of a type: objects of all versions of one group/resource share it. */
export const typeKey = (t: Pick<ResourceType, "group" | "plural">) => `${t.group}/${t.plural}`;
