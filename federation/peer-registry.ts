/**
 * The peer registry: one entry per trusted peer domain, each with its own TLS client (its CA pinned), its own
 * keys (kept by the trust), and what this agent knows of it: reachable, last seen, round-trip time, its
 * DomainInfo from `Hello`, its key ids, its advertised catalogue, the last error. Each peer is refreshed on its
 * own loop (Hello; its key announcement; its catalogue when the digest changed), periodic with jitter and with
 * backoff while it fails. A peer that is down, slow or misconfigured degrades only its own entry.
 */
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { create } from "@bufbuild/protobuf";
import { Federation } from "../gen/camino/v1/federation_pb.js";
import { type DomainInfo, DomainInfoSchema } from "../gen/camino/v1/types_pb.js";
import { CaminoError, findError, systemCode } from "../common/errors.js";
import { federationClientAuth, type FederationLogger } from "./call-auth.js";
import type { PeerDirectory, PeerView } from "./peers.js";

export type { PeerCatalogue } from "./peers.js";
import type { PeerTrust, PublicJwks, TrustedPeer } from "./trust.js";

/** The federation API version this agent speaks: `<api>/<revision>`; peers with another `<api>` are incompatible. */
export const FEDERATION_API_VERSION = "camino.v1/1";

/** Whether a peer's advertised federation API version can be called. */
export function compatibleVersion(version: string): boolean {
  return version.split("/")[0] === FEDERATION_API_VERSION.split("/")[0];
}

/** A trusted peer as the registry needs it: its endpoint, its CA, and how to read its keys. */
export interface RegistryPeer {
  id: string;
  endpoint: string;
  /** PEM of the CA its TLS certificate must chain to. */
  ca: string;
  /** Reads the peer's keys (inline, file, or its JWKS URL over the pinned CA): once, at setup. */
  readKeys(signal: AbortSignal): Promise<PublicJwks>;
  /**
   * Where its keys come from, e.g. `url:https://…`, `file:/etc/…`, `inline:…`. A JWKS URL is read once and never
   * again while it stays configured (keys then change only by signed announcement); a file is read again at each
   * reload; inline keys when they change.
   */
  keySource: string;
}

/** All the registry keeps about one peer. */
export type PeerStatus = PeerView;

export interface PeerRegistryOptions {
  trust: PeerTrust;
  /** What this domain tells peers in Hello. */
  localInfo(): Promise<DomainInfo>;
  /** The client certificate for peers that ask for mTLS. */
  clientTls?: { cert: string; key: string };
  refreshIntervalMs: number;
  callTimeoutMs: number;
  logger: FederationLogger;
  /** More client interceptors for calls to `peer` (the agent's metrics time them), run outside the signing. */
  clientInterceptors?: (peer: string) => Interceptor[];
  /** Called after every refresh round of a peer (tests and ListPeers watchers). */
  onChange?: (peer: PeerStatus) => void;
}

interface Entry {
  peer: RegistryPeer;
  status: PeerStatus;
  client: Client<typeof Federation>;
  keysRead: boolean;
  configuredKeys?: PublicJwks;
  failures: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  /** Unannounced key ids already logged. */
  warned: Set<string>;
  /** Set when a refresh was asked for while a round ran. */
  again?: boolean;
  /** Aborts the entry's calls when it is removed or the registry closes. */
  controller: AbortController;
  /** Resolved once its keys are read (and given to the trust), so calls to it can be signed. */
  keysReady: Promise<void>;
  markKeysRead: () => void;
}

const message = (err: unknown): string => {
  const e = findError(err);
  if (e) return e.message;
  const code = systemCode(err);
  const text = err instanceof Error ? err.message : String(err);
  return code && !text.includes(code) ? `${text} (${code})` : text;
};

export class PeerRegistry implements PeerDirectory {
  readonly #options: PeerRegistryOptions;
  readonly #entries = new Map<string, Entry>();
  #signal: AbortSignal | undefined;
  #closed = false;

  constructor(options: PeerRegistryOptions) {
    this.#options = options;
  }

  list(): PeerStatus[] {
    return [...this.#entries.values()].map((e) => e.status).sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): PeerStatus | undefined {
    return this.#entries.get(id)?.status;
  }

  /** The client for calls to `id` (signed by the trust), or undefined for an unknown peer. */
  client(id: string): Client<typeof Federation> | undefined {
    return this.#entries.get(id)?.client;
  }

  /**
   * Resolves when the keys of peer `id` have been read and trusted (at once when they have, or the peer is
   * unknown), or when `signal` aborts: a call made before (a recovery at start) would fail to be signed.
   */
  async keysRead(id: string, signal: AbortSignal): Promise<void> {
    const e = this.#entries.get(id);
    if (!e || e.keysRead || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      signal.addEventListener("abort", done, { once: true });
      void e.keysReady.then(done);
    });
  }

  /** Starts every peer's refresh loop; they stop when `signal` aborts. */
  start(signal: AbortSignal): void {
    this.#signal = signal;
    signal.addEventListener("abort", () => void this.close(), { once: true });
    for (const e of this.#entries.values()) this.#schedule(e, 0);
  }

  /**
   * Replaces the peer list (at start and on config reload). New peers are added and refreshed at once; removed
   * ones stop and are forgotten; a peer whose endpoint or CA changed gets a new client and reads its keys again.
   */
  setPeers(peers: readonly RegistryPeer[]): void {
    const wanted = new Map(peers.map((p) => [p.id, p]));
    for (const [id, e] of this.#entries) {
      const next = wanted.get(id);
      if (!next || next.endpoint !== e.peer.endpoint || next.ca !== e.peer.ca) this.#remove(id);
      else {
        if (next.keySource !== e.peer.keySource || next.keySource.startsWith("file:")) {
          e.keysRead = false;
          this.#schedule(e, 0);
        }
        e.peer = next;
      }
    }
    for (const p of peers) {
      if (this.#entries.has(p.id)) continue;
      const entry = this.#entry(p);
      this.#entries.set(p.id, entry);
      if (this.#signal && !this.#closed) this.#schedule(entry, 0);
    }
    this.#pushTrust();
  }

  /** Refreshes one peer now and resolves when that round is over (CLI `peers refresh`, tests). */
  async refresh(id: string): Promise<PeerStatus> {
    const e = this.#entries.get(id);
    if (!e) throw new CaminoError("ERR_PEER_NOT_FOUND", `peer ${id} is not in the trust list`);
    await e.running;
    await this.#round(e);
    return e.status;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const running = [...this.#entries.values()].map((e) => {
      clearTimeout(e.timer);
      e.controller.abort(new CaminoError("ERR_SHUTDOWN", "the agent is shutting down"));
      return e.running;
    });
    await Promise.allSettled(running);
  }

  #entry(peer: RegistryPeer): Entry {
    const transport = createGrpcTransport({
      baseUrl: peer.endpoint,
      nodeOptions: {
        ca: peer.ca,
        ...(this.#options.clientTls ? { cert: this.#options.clientTls.cert, key: this.#options.clientTls.key } : {}),
      },
      interceptors: [
        ...(this.#options.clientInterceptors?.(peer.id) ?? []),
        federationClientAuth(this.#options.trust, peer.id),
      ],
    });
    let markKeysRead = () => {};
    const keysReady = new Promise<void>((resolve) => {
      markKeysRead = resolve;
    });
    return {
      peer,
      client: createClient(Federation, transport),
      keysRead: false,
      keysReady,
      markKeysRead,
      warned: new Set(),
      failures: 0,
      controller: new AbortController(),
      status: {
        id: peer.id,
        endpoint: peer.endpoint,
        healthy: false,
        reachable: false,
        compatible: true,
        reason: "not called yet",
        keyIds: [],
        lastError: "",
      },
    };
  }

  #remove(id: string): void {
    const e = this.#entries.get(id);
    if (!e) return;
    clearTimeout(e.timer);
    e.controller.abort(new CaminoError("ERR_PEER_NOT_FOUND", `peer ${id} was removed from the trust list`));
    this.#entries.delete(id);
  }

  /** Hands the trust the keys of every peer whose keys have been read. */
  #pushTrust(): void {
    const trusted: TrustedPeer[] = [];
    for (const e of this.#entries.values())
      if (e.configuredKeys) trusted.push({ id: e.peer.id, jwks: e.configuredKeys });
    this.#options.trust.setPeers(trusted);
    for (const e of this.#entries.values()) e.status.keyIds = this.#options.trust.keyIds(e.peer.id);
  }

  #schedule(e: Entry, delayMs: number): void {
    if (this.#closed || e.controller.signal.aborted) return;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      // A round under way runs again as soon as it ends.
      if (e.running) {
        e.again = true;
        return;
      }
      e.running = this.#round(e).finally(() => {
        e.running = undefined;
        if (!this.#entries.has(e.peer.id)) return;
        // Jittered: ±20 % of the interval; while failing, back off from a tenth of it, doubling, up to the interval.
        const base = this.#options.refreshIntervalMs;
        const next = e.failures === 0 ? base : Math.min(base, (base / 10) * 2 ** (e.failures - 1));
        this.#schedule(e, e.again ? 0 : next * (0.8 + Math.random() * 0.4));
        e.again = false;
      });
    }, delayMs);
    e.timer.unref?.();
  }

  /**
   * Logs (once per key) a key the peer serves in its JWKS that no signed announcement brought: it is not
   * accepted. Only an announcement signed by a key already trusted adds one.
   */
  #unannounced(e: Entry, jwks: string, accepted: readonly string[]): void {
    let served: string[];
    try {
      const keys = (JSON.parse(jwks) as { keys?: { kid?: unknown }[] }).keys ?? [];
      served = keys.map((k) => (typeof k.kid === "string" ? k.kid : "")).filter((k) => k !== "");
    } catch {
      return;
    }
    for (const kid of served) {
      if (accepted.includes(kid) || e.warned.has(kid)) continue;
      e.warned.add(kid);
      this.#options.logger.warn("peer serves a key no signed announcement brought; it is refused", {
        peer: e.peer.id,
        keyId: kid.slice(0, 64),
      });
    }
  }

  /** One refresh round of a peer: its keys once, Hello, its key announcement, its catalogue when changed. */
  async #round(e: Entry): Promise<void> {
    const { callTimeoutMs } = this.#options;
    const signal = e.controller.signal;
    const call = { signal, timeoutMs: callTimeoutMs };
    // The round works on a copy, published whole at its end: ListPeers never sees a half-refreshed peer.
    const s: PeerStatus = { ...e.status };
    try {
      if (!e.keysRead) {
        e.configuredKeys = await e.peer.readKeys(AbortSignal.any([signal, AbortSignal.timeout(callTimeoutMs)]));
        e.keysRead = true;
        this.#pushTrust();
        e.markKeysRead();
      }
      const started = performance.now();
      const hello = await e.client.hello({ caller: await this.#options.localInfo() }, call);
      const rtt = performance.now() - started;
      const info = hello.callee ?? create(DomainInfoSchema, {});
      if (info.id !== e.peer.id)
        throw new CaminoError(
          "ERR_PEER_UNTRUSTED",
          `the endpoint answered as domain ${JSON.stringify(info.id)}, not ${e.peer.id}`,
        );
      s.info = info;
      s.roundTripMs = rtt;
      s.lastSeen = new Date();
      s.reachable = true;
      s.compatible = compatibleVersion(info.federationApiVersion);
      if (!s.compatible) {
        throw new CaminoError(
          "ERR_PEER_INCOMPATIBLE",
          `peer ${e.peer.id} speaks federation API ${info.federationApiVersion || "(none)"}; this agent speaks ${FEDERATION_API_VERSION}`,
        );
      }
      const keys = await e.client.getKeys({}, call);
      if (keys.announcement) {
        const changed = await this.#options.trust.applyAnnouncement(e.peer.id, keys.announcement);
        if (changed.added.length > 0 || changed.retired.length > 0)
          this.#options.logger.info("peer keys changed by its signed announcement", {
            peer: e.peer.id,
            added: changed.added,
            retired: changed.retired,
          });
      }
      s.keyIds = this.#options.trust.keyIds(e.peer.id);
      this.#unannounced(e, keys.jwks, s.keyIds);
      if (!s.catalogue || s.catalogue.digest !== info.catalogueDigest) {
        const cat = await e.client.getCatalogue({}, call);
        s.catalogue = { digest: cat.digest, entries: cat.entries, fetchedAt: new Date() };
        if (cat.capacity) s.catalogue.capacity = cat.capacity;
      }
      if (!s.healthy) this.#options.logger.info("peer is up", { peer: e.peer.id, roundTripMs: Math.round(rtt) });
      s.healthy = true;
      s.reason = "";
      s.lastError = "";
      e.failures = 0;
    } catch (err) {
      if (signal.aborted) return;
      const why = message(err);
      const unreachable = !findError(err, "ERR_PEER_INCOMPATIBLE", "ERR_ANNOUNCEMENT_INVALID", "ERR_PEER_UNTRUSTED");
      if (unreachable) s.reachable = false;
      if (s.healthy || s.lastError !== why)
        this.#options.logger.warn("peer call failed", { peer: e.peer.id, error: why });
      s.healthy = false;
      s.reason = why;
      s.lastError = why;
      e.failures++;
    } finally {
      if (!signal.aborted) e.status = s;
      this.#options.onChange?.(s);
    }
  }
}
