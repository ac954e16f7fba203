/**
 * What a sync must know of its whole repository at every round, kept without looking at the whole repository:
 * how many of its objects have each resource id (an id two files share stays while either file has it) and how
 * many objects are cluster-scoped (a commit that leaves none is refused, KNV2006). Counted by a round that looks
 * at every object, and kept up to date by rounds that look only at the objects of the files that changed.
 */
export class RepositoryCensus {
  readonly #ids = new Map<string, number>();
  #clusterScoped = 0;

  /** Counts an object of the repository in (`by` 1) or out (-1). */
  count(id: string, clusterScoped: boolean, by: 1 | -1): void {
    const n = (this.#ids.get(id) ?? 0) + by;
    if (n > 0) this.#ids.set(id, n);
    else this.#ids.delete(id);
    if (clusterScoped) this.#clusterScoped += by;
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
