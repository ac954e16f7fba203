/**
 * What a sync must know of its whole repository at every round, kept without looking at the whole repository:
 * how many of its objects have each resource id (an id two files share stays while either file has it) and how
 * many objects are cluster-scoped (a commit that leaves none is refused, KNV2006), and the file of an id only one
 * object has (where a drift round finds it again). Counted by a round that looks at every object, and kept up to
 * date by rounds that look only at the objects of the files that changed.
 */
export class RepositoryCensus {
  readonly #ids = new Map<string, number>();
  /** The file of an id one object has, when known (not after a second object with the id came and went). */
  readonly #files = new Map<string, string>();
  #clusterScoped = 0;

  /** Counts an object of the repository, of the file at `path`, in (`by` 1) or out (-1). */
  count(id: string, clusterScoped: boolean, by: 1 | -1, path: string): void {
    const n = (this.#ids.get(id) ?? 0) + by;
    if (n > 0) this.#ids.set(id, n);
    else this.#ids.delete(id);
    if (n === 1 && by === 1) this.#files.set(id, path);
    else this.#files.delete(id);
    if (clusterScoped) this.#clusterScoped += by;
  }

  /** The file of the only object with this id; undefined when several have it, or its file is not known. */
  fileOf(id: string): string | undefined {
    return this.#files.get(id);
  }

  /** How many objects of the repository have this resource id. */
  of(id: string): number {
    return this.#ids.get(id) ?? 0;
  }

  /** How many objects of the repository are cluster-scoped. */
  get clusterScoped(): number {
    return this.#clusterScoped;
  }
}
