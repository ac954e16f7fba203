/** The domain's edges, built once from the config; each edge's health is checked on demand and kept. */
import type { ConfiguredEdge } from "../config/config.js";
import { EdgeClient, type EdgeCapacity } from "./edge-client.js";

export interface EdgeView {
  name: string;
  labels: Readonly<Record<string, string>>;
  healthy: boolean;
  message: string;
  capacity?: EdgeCapacity;
  repository?: string;
  rootSync?: { commit: string; syncing: boolean; errors: string[] };
}

export class EdgeRegistry {
  readonly #edges = new Map<string, EdgeClient>();

  private constructor(edges: EdgeClient[]) {
    for (const e of edges) this.#edges.set(e.name, e);
  }

  /** The config's edges, each kept watched (EdgeClient.watchEdge) once first read; {@link close} stops that. */
  static async fromConfig(edges: readonly ConfiguredEdge[]): Promise<EdgeRegistry> {
    return new EdgeRegistry(await Promise.all(edges.map(async (e) => (await EdgeClient.fromConfig(e)).watchEdge())));
  }

  /** Stops every edge's watches. */
  close(): void {
    for (const e of this.#edges.values()) e.close();
  }

  list(): EdgeClient[] {
    return [...this.#edges.values()];
  }

  get(name: string): EdgeClient | undefined {
    return this.#edges.get(name);
  }

  /** Every edge with its health, capacity and RootSync status; edges are asked in parallel, each within its deadline. */
  async views(signal?: AbortSignal): Promise<EdgeView[]> {
    return Promise.all(
      this.list().map(async (e): Promise<EdgeView> => {
        const view: EdgeView = { name: e.name, labels: e.labels, healthy: false, message: "" };
        if (e.repository) view.repository = e.repository;
        try {
          view.capacity = await e.capacity(signal);
          const rs = await e.rootSync(signal);
          if (rs) {
            const status = (rs["status"] ?? {}) as {
              sync?: { commit?: string; errors?: { errorMessage: string }[] };
              conditions?: { type: string; status: string }[];
            };
            view.rootSync = {
              commit: status.sync?.commit ?? "",
              syncing: status.conditions?.some((c) => c.type === "Syncing" && c.status === "True") ?? false,
              errors: (status.sync?.errors ?? []).map((x) => x.errorMessage),
            };
          }
        } catch {
          // The reason is in the edge's health.
        }
        const h = e.health;
        view.healthy = h.healthy;
        view.message = h.reason;
        return view;
      }),
    );
  }
}
