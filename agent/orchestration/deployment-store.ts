/**
 * The deployments this agent knows, one per intent (its latest revision), loaded from the journal at start:
 * lookup by intent name or deployment id, and paging in intent-name order.
 */
import { CaminoError, RequestError } from "../errors.js";
import type { RunTiming } from "./run-timing.js";
import type { DeploymentRecord } from "./journal.js";

/**
 * A deployment as the lifecycle holds it: its record, and the run in flight (deploy, roll back or terminate).
 * Its optional fields are cleared by setting them undefined, never with `delete`: an object a property was
 * deleted from is kept by V8 as a dictionary, about 440 bytes more per deployment for as long as it is known.
 */
export interface LiveDeployment {
  record: DeploymentRecord;
  /** Aborts the run in flight. */
  controller?: AbortController;
  run?: Promise<void>;
  /** Set from the moment a termination is accepted until it ends. */
  terminating?: boolean;
  /** What the run is waiting for, for the timeout's message. */
  waiting?: string;
  /**
   * Set on a run resumed after a restart: its waves may have been committed (and pushed) before the crash, and
   * are looked for by their trailers instead of being committed again.
   */
  resumed?: boolean;
  /** The deploy run's time split while it runs (run-timing.ts); its result goes to the record's `timing`. */
  timing?: RunTiming;
}

/** Largest page ListDeployments serves, and the page size when none is asked. */
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 100;

export class DeploymentStore {
  readonly #byIntent = new Map<string, LiveDeployment>();

  /** Every deployment, in no particular order. */
  values(): IterableIterator<LiveDeployment> {
    return this.#byIntent.values();
  }

  /** The deployment of an intent, if any. */
  byIntent(intent: string): LiveDeployment | undefined {
    return this.#byIntent.get(intent);
  }

  set(live: LiveDeployment): void {
    this.#byIntent.set(live.record.intent, live);
  }

  /**
   * Finds a deployment by intent name or deployment id (`<intent>.<revision>`).
   * @param field the request field it came from, named in errors
   * @throws RequestError when empty; CaminoError ERR_DEPLOYMENT_NOT_FOUND
   */
  find(nameOrId: string, field = "name"): LiveDeployment {
    if (!nameOrId) throw new RequestError([{ path: field, message: "give an intent name or a deployment id" }]);
    const dot = nameOrId.indexOf(".");
    const live = this.#byIntent.get(dot >= 0 ? nameOrId.slice(0, dot) : nameOrId);
    if (!live || (dot >= 0 && live.record.id !== nameOrId)) {
      throw new CaminoError("ERR_DEPLOYMENT_NOT_FOUND", `${field}: no deployment ${JSON.stringify(nameOrId)}`, {
        data: { field },
      });
    }
    return live;
  }

  /**
   * One page of deployments sorted by intent name. The page token is the last intent name of the previous page.
   * @throws RequestError naming `page_size` or `page_token` (ERR_PAGE_TOKEN for a token this agent did not give)
   */
  list(pageSize: number, pageToken: string): { records: DeploymentRecord[]; next: string } {
    if (pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
      throw new RequestError([{ path: "page_size", message: `must be 0..${MAX_PAGE_SIZE} (is ${pageSize})` }]);
    }
    const size = pageSize || DEFAULT_PAGE_SIZE;
    const after = pageToken ? Buffer.from(pageToken, "base64url").toString("utf8") : "";
    if (pageToken && !/^[a-z0-9-]{1,63}$/.test(after)) {
      throw new RequestError([{ path: "page_token", message: "not a token this agent gave" }], "ERR_PAGE_TOKEN");
    }
    const names = [...this.#byIntent.keys()].sort().filter((n) => n > after);
    const page = names.slice(0, size);
    const last = page[page.length - 1];
    return {
      records: page.map((n) => (this.#byIntent.get(n) as LiveDeployment).record),
      next: names.length > size && last ? Buffer.from(last).toString("base64url") : "",
    };
  }
}
