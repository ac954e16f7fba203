/**
 * An edge's watched objects grouped by the intent they belong to (the `camino.io/intent` label), kept from the
 * watched copies' change events (watched-list.ts `onChange`), with a mark per intent that moves on every change
 * heard. A reader gets one intent's objects without a scan of the edge's, and a standing watch can tell from the
 * mark whether anything of its intent changed since it last looked: at rest, with thousands of intents on an edge,
 * a tick then costs what changed, not what runs.
 */

/** What the index needs of an object: its name, namespace and labels. */
interface Labelled {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

const INTENT = "camino.io/intent";

export class IntentIndex<T extends Labelled> {
  /** Per intent, its objects by key ("<kind>/<namespace>/<name>"), each with its kind. */
  readonly #byIntent = new Map<string, Map<string, { kind: string; object: T }>>();
  /** Per key, the intent it was indexed under (an update may move it, a deletion must find it). */
  readonly #intentOf = new Map<string, string>();
  /** Per intent with objects, the sequence number of the last change heard of them. */
  readonly #changes = new Map<string, number>();
  #sequence = 0;
  readonly #onChange: ((intent: string) => void) | undefined;

  /** @param onChange told the intent of every change heard, as it is indexed */
  constructor(onChange?: (intent: string) => void) {
    this.#onChange = onChange;
  }

  /** Records a change heard for an object of `kind`: added or updated, or deleted (`deleted`). */
  apply(kind: string, object: T, deleted: boolean): void {
    const m = object.metadata ?? {};
    const key = `${kind}/${m.namespace ?? ""}/${m.name ?? ""}`;
    const before = this.#intentOf.get(key);
    const intent = deleted ? undefined : m.labels?.[INTENT];
    if (before !== undefined && before !== intent) {
      this.#remove(before, key);
      this.#bump(before);
    }
    if (intent === undefined) return;
    let objects = this.#byIntent.get(intent);
    if (!objects) {
      objects = new Map();
      this.#byIntent.set(intent, objects);
    }
    objects.set(key, { kind, object });
    this.#intentOf.set(key, intent);
    this.#bump(intent);
  }

  /** The objects of `intent` heard so far, each with its kind (in no particular order). */
  of(intent: string): Iterable<{ kind: string; object: T }> {
    return this.#byIntent.get(intent)?.values() ?? [];
  }

  /**
   * A number that differs whenever a change of `intent`'s objects was heard since it was last read (a sequence
   * number, never reused; 0 once it has none): a reader compares it with the one it last saw.
   */
  changes(intent: string): number {
    return this.#changes.get(intent) ?? 0;
  }

  /** Number of intents with objects indexed. */
  get size(): number {
    return this.#byIntent.size;
  }

  #remove(intent: string, key: string): void {
    this.#intentOf.delete(key);
    const objects = this.#byIntent.get(intent);
    objects?.delete(key);
    if (objects?.size === 0) this.#byIntent.delete(intent);
  }

  #bump(intent: string): void {
    if (this.#byIntent.has(intent)) this.#changes.set(intent, ++this.#sequence);
    else this.#changes.delete(intent);
    this.#onChange?.(intent);
  }
}
