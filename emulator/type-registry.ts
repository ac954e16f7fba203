/** The resource types currently served: the built-in ones and those CustomResourceDefinitions add. */
import { builtinTypes, groupVersion, typesOfCrd, type ResourceType } from "./resources.js";

export class TypeRegistry {
  readonly #types: ResourceType[] = builtinTypes();

  all(): readonly ResourceType[] {
    return this.#types;
  }

  /** The type served at `/apis/<group>/<version>/<plural>` (group "" for `/api/v1`). */
  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.#types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  /** Group versions in the order discovery lists them (core first). */
  groupVersions(): { group: string; version: string }[] {
    const seen = new Map<string, { group: string; version: string }>();
    for (const t of this.#types) seen.set(groupVersion(t), { group: t.group, version: t.version });
    return [...seen.values()];
  }

  /** Adds (or replaces) the types of a CRD. */
  addCrd(crd: Record<string, unknown>): void {
    for (const t of typesOfCrd(crd)) {
      const i = this.#types.findIndex((x) => x.group === t.group && x.version === t.version && x.plural === t.plural);
      if (i >= 0) this.#types[i] = t;
      else this.#types.push(t);
    }
  }

  /** Removes the types of a CRD; returns them. */
  removeCrd(crd: Record<string, unknown>): ResourceType[] {
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
