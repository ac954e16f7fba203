/**
 * What each edge can still take: its observed capacity (nodes' allocatable minus the requests of scheduled
 * pods, read through the Kubernetes API) minus the reservations of intents in flight.
 *
 * A reservation is made for every package of an intent at once, in one synchronous step after the free
 * amounts were computed (JavaScript runs it to the end without interleaving), so intents admitted together
 * never over-commit an edge. Reservations are booked onto the edge's nodes as well as its totals: every time
 * an intent looks at an edge, the pods other intents have reserved there (and that the edge does not show yet)
 * are packed, in the order they were reserved, onto the nodes' observed free room by the admission's first
 * fit, so an edge with room in total but not on any one node refuses a pod, as the scheduler would. The packing
 * is redone on every reading rather than kept per node, because the scheduler does not place pods where the
 * admission's packing did: a booking kept on one node would be released when its pod shows up on another. A reservation is released when its intent fails, or when a capacity reading of
 * the edge shows the package's pods requesting at least what was reserved — not before: until then the edge's
 * own figures do not include it yet.
 *
 * Capacity readings are shared: concurrent callers of one edge wait for one reading in flight, a reading
 * younger than `maxAgeMs` is reused, and a reading replaces the kept one only if it was started later, so a
 * slow old reading can never bring back capacity that a release already assumed was in use.
 */
import type { EdgeCapacity, EdgeClient } from "../edge/edge-client.js";
import type { Amount, EdgeState, NodeRoom, PodAmount } from "./placement.js";

export interface ReservationEntry {
  edge: string;
  package: string;
  /** Counted against the edge until released. */
  amount: Amount;
  /** Released once the edge's pods of the package request at least this (the package's full demand). */
  target: Amount;
  /** The size of each reserved pod (the package's largest: never less than any of its pods). */
  pod: PodAmount;
}

/**
 * Books `pods` pods of `pod`'s size onto `rooms` by first fit, in place. A pod that fits no node is taken from
 * the node with the most CPU room, which then shows less than nothing: what is reserved is never forgotten.
 */
export function bookPods(rooms: NodeRoom[], pod: PodAmount, pods: number): void {
  for (let i = 0; i < pods; i++) {
    let at = rooms.findIndex((n) => n.cpuMillis >= pod.cpuMillis && n.memoryBytes >= pod.memoryBytes);
    if (at < 0 && rooms.length > 0) {
      at = rooms.reduce((best, n, j) => (n.cpuMillis > (rooms[best] as NodeRoom).cpuMillis ? j : best), 0);
    }
    const room = rooms[at];
    if (!room) return;
    room.cpuMillis -= pod.cpuMillis;
    room.memoryBytes -= pod.memoryBytes;
  }
}

interface Reading {
  startedAt: number;
  capacity?: EdgeCapacity;
  error?: string;
  at: number;
}

const ZERO: Amount = { cpuMillis: 0, memoryBytes: 0, pods: 0 };

/**
 * Free capacity as monitoring sees it, for admission (agent/monitoring/admission-capacity.ts). `read()` is called
 * once per {@link CapacityBook.edgeStates}: which source the figures come from, and per edge the CPU and memory
 * monitoring counts as free (undefined: use the Kubernetes figures), or why the edge must be refused.
 */
export interface MonitoredCapacity {
  read(): {
    /** What the plan reports: "kubernetes", "monitoring", "stricter", or a fallback with its reason. */
    source: string;
    /** "replace": monitoring's figure is used; "min": the smaller of the two; absent: Kubernetes only. */
    mode?: "replace" | "min";
    free(edge: string): { cpuMillis: number; memoryBytes: number } | undefined;
    /** Set when admission must refuse (fallback "refuse" while the source is down). */
    refuse?: string;
  };
}
const covers = (have: Amount = ZERO, want: Amount) =>
  have.cpuMillis >= want.cpuMillis && have.memoryBytes >= want.memoryBytes && have.pods >= want.pods;

export class CapacityBook {
  readonly #edges: () => readonly EdgeClient[];
  readonly #readings = new Map<string, Reading>();
  readonly #inFlight = new Map<string, Promise<void>>();
  /** The reading that starts when the one in flight ends. */
  readonly #next = new Map<string, Promise<void>>();
  /** intent → its reservations. */
  readonly #reserved = new Map<string, ReservationEntry[]>();
  #seq = 0;
  readonly #monitored: MonitoredCapacity | undefined;
  #lastSource = "kubernetes";

  /**
   * @param edges the domain's edges (with deployment repositories), asked on every refresh
   * @param monitored free capacity from monitoring (admission's `monitoring` and `stricter` sources); absent: Kubernetes only
   */
  constructor(edges: () => readonly EdgeClient[], monitored?: MonitoredCapacity) {
    this.#edges = edges;
    this.#monitored = monitored;
  }

  /** Where the free figures of the last {@link edgeStates} came from. */
  get capacitySource(): string {
    return this.#lastSource;
  }

  /**
   * Reads the capacity of the named edges (all when omitted). With `maxAgeMs` > 0 a reading that young, or one
   * under way, is used instead; with 0 (the default) the reading used is one started after this call.
   */
  async refresh(options: { edges?: readonly string[]; maxAgeMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const maxAge = options.maxAgeMs ?? 0;
    const now = Date.now();
    const wanted = this.#edges().filter((e) => !options.edges || options.edges.includes(e.name));
    await Promise.all(
      wanted.map((e) => {
        const r = this.#readings.get(e.name);
        if (maxAge > 0) {
          if (r && now - r.at <= maxAge) return undefined;
          const flight = this.#inFlight.get(e.name);
          if (flight) return flight;
        }
        return this.#fresh(e, options.signal);
      }),
    );
  }

  /**
   * A reading started after this call. While one is under way, callers share a single next reading that starts
   * when it ends, so an edge is never asked more than once at a time however many callers want news.
   */
  #fresh(edge: EdgeClient, signal?: AbortSignal): Promise<void> {
    const start = (s?: AbortSignal) => {
      const flight: Promise<void> = this.#read(edge, s).finally(() => {
        if (this.#inFlight.get(edge.name) === flight) this.#inFlight.delete(edge.name);
      });
      this.#inFlight.set(edge.name, flight);
      return flight;
    };
    const current = this.#inFlight.get(edge.name);
    if (!current) return start(signal);
    let next = this.#next.get(edge.name);
    if (!next) {
      // Shared by every waiter, so no one caller's signal may cancel it (each call has the edge's deadline).
      next = current.then(() => {
        this.#next.delete(edge.name);
        return start();
      });
      this.#next.set(edge.name, next);
    }
    return next;
  }

  async #read(edge: EdgeClient, signal?: AbortSignal): Promise<void> {
    const startedAt = ++this.#seq;
    let reading: Reading;
    try {
      reading = { startedAt, capacity: await edge.capacity(signal), at: Date.now() };
    } catch (err) {
      if (signal?.aborted) return;
      reading = { startedAt, error: (err as Error).message, at: Date.now() };
    }
    const kept = this.#readings.get(edge.name);
    if (kept && kept.startedAt > startedAt) return;
    this.#readings.set(edge.name, reading);
    if (reading.capacity) this.#releaseObserved(edge.name, reading.capacity);
  }

  /** Drops reservations on `edge` whose package the edge now shows requesting its full demand. */
  #releaseObserved(edge: string, capacity: EdgeCapacity): void {
    for (const [intent, entries] of this.#reserved) {
      const left = entries.filter(
        (r) => r.edge !== edge || !covers(capacity.byPackage.get(`${intent}/${r.package}`), r.target),
      );
      if (left.length === entries.length) continue;
      if (left.length === 0) this.#reserved.delete(intent);
      else this.#reserved.set(intent, left);
    }
  }

  /** The last reading of an edge. */
  capacity(edge: string): EdgeCapacity | undefined {
    return this.#readings.get(edge)?.capacity;
  }

  /** Requests the edge's pods of one package make now (by the last reading). */
  observed(edge: string, intent: string, pkg: string): Amount {
    return this.capacity(edge)?.byPackage.get(`${intent}/${pkg}`) ?? ZERO;
  }

  /** Sum of unreleased reservations on an edge (of every intent, or all but `except`). */
  reservedOn(edge: string, except?: string): Amount {
    const sum = { ...ZERO };
    for (const [intent, entries] of this.#reserved) {
      if (intent === except) continue;
      for (const r of entries) {
        if (r.edge !== edge) continue;
        sum.cpuMillis += r.amount.cpuMillis;
        sum.memoryBytes += r.amount.memoryBytes;
        sum.pods += r.amount.pods;
      }
    }
    return sum;
  }

  /**
   * Each edge as placement sees it: healthy when its last reading succeeded; free = observed free minus
   * reservations of other intents (an intent re-placed is not counted against itself), in total and per node.
   */
  edgeStates(edges: readonly EdgeClient[], except?: string): EdgeState[] {
    const monitored = this.#monitored?.read();
    this.#lastSource = monitored?.source ?? "kubernetes";
    return edges.map((e) => {
      const r = this.#readings.get(e.name);
      const c = r?.capacity;
      if (!c)
        return {
          name: e.name,
          labels: e.labels,
          healthy: false,
          reason: r?.error ?? "capacity not read yet",
          allocatable: ZERO,
          free: ZERO,
          nodeFree: [],
        };
      if (monitored?.refuse)
        return {
          name: e.name,
          labels: e.labels,
          healthy: false,
          reason: monitored.refuse,
          allocatable: { ...c.allocatable },
          free: ZERO,
          nodeFree: [],
        };
      const held = this.reservedOn(e.name, except);
      // Monitoring's view of the edge's CPU and memory, instead of (or capped by) the Kubernetes figures; pod
      // slots and the per-node room stay as the Kubernetes API reports them.
      const seen = monitored?.mode ? monitored.free(e.name) : undefined;
      const free = { ...c.free };
      if (seen && monitored?.mode === "replace") {
        free.cpuMillis = seen.cpuMillis;
        free.memoryBytes = seen.memoryBytes;
      } else if (seen) {
        free.cpuMillis = Math.min(free.cpuMillis, seen.cpuMillis);
        free.memoryBytes = Math.min(free.memoryBytes, seen.memoryBytes);
      }
      const nodeFree: NodeRoom[] = c.nodes
        .filter((n) => n.ready)
        .map((n) => ({ name: n.name, cpuMillis: n.free.cpuMillis, memoryBytes: n.free.memoryBytes }));
      for (const [intent, entries] of this.#reserved) {
        if (intent === except) continue;
        for (const r of entries) if (r.edge === e.name) bookPods(nodeFree, r.pod, r.amount.pods);
      }
      return {
        name: e.name,
        labels: e.labels,
        healthy: true,
        allocatable: { ...c.allocatable },
        free: {
          cpuMillis: free.cpuMillis - held.cpuMillis,
          memoryBytes: free.memoryBytes - held.memoryBytes,
          pods: free.pods - held.pods,
        },
        nodeFree,
      };
    });
  }

  /** Records an intent's reservations (replacing any it had). Call in the same synchronous step as the fit check. */
  reserve(intent: string, entries: readonly ReservationEntry[]): void {
    if (entries.length === 0) this.#reserved.delete(intent);
    else
      this.#reserved.set(
        intent,
        entries.map((e) => ({
          ...e,
          amount: { ...e.amount },
          target: { ...e.target },
          pod: { ...e.pod },
        })),
      );
  }

  /** Releases every reservation of an intent. */
  release(intent: string): void {
    this.#reserved.delete(intent);
  }

  /** The intent's reservations still held. */
  held(intent: string): readonly ReservationEntry[] {
    return this.#reserved.get(intent) ?? [];
  }

  /** Every reservation held, per intent and edge (the agent's /metrics: `camino_reserved`). */
  all(): { intent: string; edge: string; amount: Amount }[] {
    const out: { intent: string; edge: string; amount: Amount }[] = [];
    for (const [intent, entries] of this.#reserved) {
      const byEdge = new Map<string, Amount>();
      for (const e of entries) {
        const a = byEdge.get(e.edge) ?? { ...ZERO };
        a.cpuMillis += e.amount.cpuMillis;
        a.memoryBytes += e.amount.memoryBytes;
        a.pods += e.amount.pods;
        byEdge.set(e.edge, a);
      }
      for (const [edge, amount] of byEdge) out.push({ intent, edge, amount });
    }
    return out;
  }
}
