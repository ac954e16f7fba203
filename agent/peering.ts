/**
 * What the agent gives the federation component (federation/peer-federation.ts): this domain's DomainInfo as
 * peers see it in Hello, its exported catalogue with aggregated capacity, and the trust list read from the
 * `federation` config section (each peer's CA read; its keys read once by the registry).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetCatalogueResponseSchema } from "../gen/camino/v1/federation_pb.js";
import {
  CapacitySchema,
  type DomainInfo,
  DomainInfoSchema,
  type EdgeGateway,
  EdgeGatewaySchema,
} from "../gen/camino/v1/types_pb.js";
import { createFederationTrust, type DomainKeySource } from "../federation/federation-trust.js";
import {
  createPeerFederation,
  type FederationPeer,
  type PeerFederation,
  type PeerFederationOptions,
} from "../federation/peer-federation.js";
import { readPeerJwks } from "../federation/peer-jwks.js";
import { FEDERATION_API_VERSION } from "../federation/peer-registry.js";
import type { ExportedCatalogue } from "../federation/peering-service.js";
import type { PublicJwks } from "../federation/trust.js";
import type { Catalogue } from "./cad/catalogue.js";
import type { ConfiguredPeer, FederationConfig } from "./config/config.js";
import type { EdgeRegistry } from "./edge/edge-registry.js";
import { CaminoError } from "./errors.js";
import type { Logger } from "./log/logger.js";
import { catalogueEntryToProto } from "./rpc/convert.js";

/** How a peer's keys are read: inline, from a file, or from its JWKS URL over its pinned CA. */
export type ReadPeerJwks = (
  source: { jwks?: unknown; jwksFile?: string; jwksUrl?: string; caPem?: string },
  signal: AbortSignal,
) => Promise<PublicJwks>;

/** Reads the CA of every peer and makes the registry's view of the trust list. @throws CaminoError for an unreadable CA */
export async function federationPeers(
  peers: readonly ConfiguredPeer[],
  readJwks: ReadPeerJwks,
): Promise<FederationPeer[]> {
  return Promise.all(
    peers.map(async (p, i) => {
      let ca: string;
      try {
        ca = await readFile(p.caFile, "utf8");
      } catch (err) {
        throw new CaminoError(
          "ERR_CONFIG_INVALID",
          `federation.peers[${i}].caFile: cannot read ${p.caFile} (${(err as NodeJS.ErrnoException).code})`,
          { cause: err },
        );
      }
      const source = {
        caPem: ca,
        ...(p.jwks ? { jwks: p.jwks } : {}),
        ...(p.jwksFile ? { jwksFile: p.jwksFile } : {}),
        ...(p.jwksUrl ? { jwksUrl: p.jwksUrl } : {}),
      };
      const keySource = p.jwksUrl
        ? `url:${p.jwksUrl}`
        : p.jwksFile
          ? `file:${p.jwksFile}`
          : `inline:${JSON.stringify(p.jwks)}`;
      return {
        id: p.id,
        endpoint: p.endpoint,
        ca,
        allow: p.allow,
        keySource,
        readKeys: (signal: AbortSignal) => readJwks(source, signal),
      };
    }),
  );
}

/** The parts of the agent its DomainInfo and exported catalogue are read from. */
export interface LocalDomainDeps {
  domainId: string;
  config: FederationConfig;
  /** Read lazily: the listeners' bound addresses are known only once they listen. */
  apiEndpoint(): string;
  peerEndpoint(): string;
  catalogue: Catalogue;
  edges: EdgeRegistry;
  /** The agent's software version. */
  version: string;
  /** How long the edges' gateways, as read, are kept. Default 30 s. */
  gatewaysMaxAgeMs?: number;
}

/** This domain as peers see it. */
export class LocalDomain {
  readonly #deps: LocalDomainDeps;
  #meshRoot: string | undefined;
  #exported: { key: string; entries: ExportedCatalogue["entries"]; digest: string } | undefined;
  #gateways: { at: number; list: EdgeGateway[] } = { at: 0, list: [] };
  #reading: Promise<void> | undefined;

  constructor(deps: LocalDomainDeps) {
    this.#deps = deps;
  }

  /** Reads the mesh root certificate (once). @throws CaminoError when the configured file cannot be read */
  async load(): Promise<void> {
    const file = this.#deps.config.meshRootCertFile;
    if (!file) return;
    try {
      this.#meshRoot = await readFile(file, "utf8");
    } catch (err) {
      throw new CaminoError(
        "ERR_CONFIG_INVALID",
        `federation.meshRootCertFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`,
        { cause: err },
      );
    }
  }

  /**
   * Each edge's east-west gateway and network, as its Istio install reports them. Read in the background and
   * kept for a while, so that Hello never waits on an edge; an edge that cannot be read, or has no gateway
   * address yet, is left out until it can.
   */
  #edgeGateways(): EdgeGateway[] {
    const maxAge = this.#deps.gatewaysMaxAgeMs ?? 30_000;
    if (!this.#reading && Date.now() - this.#gateways.at > maxAge) {
      this.#reading = (async () => {
        const read = await Promise.all(
          this.#deps.edges.list().map((e) => e.mesh(AbortSignal.timeout(5000)).catch(() => undefined)),
        );
        const list = read.flatMap((m) =>
          m?.gateway
            ? [
                create(EdgeGatewaySchema, {
                  edge: m.edge,
                  network: m.network ?? "",
                  address: m.gateway.address,
                  port: m.gateway.port,
                }),
              ]
            : [],
        );
        this.#gateways = { at: Date.now(), list };
      })().finally(() => {
        this.#reading = undefined;
      });
    }
    return this.#gateways.list;
  }

  /** Reads the edges' gateways now (at start, so the first Hello already carries them). */
  async refreshGateways(): Promise<void> {
    this.#gateways.at = 0;
    this.#edgeGateways();
    await this.#reading;
  }

  async info(): Promise<DomainInfo> {
    const gateways = this.#edgeGateways();
    const first = gateways[0];
    return create(DomainInfoSchema, {
      id: this.#deps.domainId,
      apiEndpoint: this.#deps.apiEndpoint(),
      peerEndpoint: this.#deps.peerEndpoint(),
      eastWestAddress: first?.address ?? "",
      eastWestPort: first?.port ?? 0,
      network: first?.network ?? "",
      gateways,
      meshId: this.#deps.config.meshId,
      trustDomain: this.#deps.config.trustDomain,
      meshRootCertificate: this.#meshRoot ?? "",
      catalogueDigest: (await this.#entries()).digest,
      version: this.#deps.version,
      federationApiVersion: FEDERATION_API_VERSION,
    });
  }

  /** Exported blueprints (no repository or path) and the sum of the edges' capacity (no per-edge figure). */
  async exportedCatalogue(signal: AbortSignal): Promise<ExportedCatalogue> {
    const { entries, digest } = await this.#entries();
    const total = { allocatable: { cpu: 0, memory: 0 }, requested: { cpu: 0, memory: 0 }, free: { cpu: 0, memory: 0 } };
    for (const e of await this.#deps.edges.views(signal)) {
      if (!e.healthy || !e.capacity) continue;
      for (const k of ["allocatable", "requested", "free"] as const) {
        total[k].cpu += e.capacity[k].cpuMillis;
        total[k].memory += e.capacity[k].memoryBytes;
      }
    }
    const q = (r: { cpu: number; memory: number }) => ({ cpuMillis: BigInt(r.cpu), memoryBytes: BigInt(r.memory) });
    const capacity = create(CapacitySchema, {
      allocatable: q(total.allocatable),
      requested: q(total.requested),
      free: q(total.free),
    });
    return { entries, digest, capacity };
  }

  /** The exported entries and their digest, recomputed only when a blueprint repository's head moved. */
  async #entries(): Promise<{ entries: ExportedCatalogue["entries"]; digest: string }> {
    const list = await this.#deps.catalogue.list({ exportedOnly: true });
    const key = list.map((e) => `${e.name}@${e.revisions.at(-1)?.commit ?? ""}`).join(",");
    if (this.#exported?.key === key) return this.#exported;
    const entries = list.map((e) => {
      const p = catalogueEntryToProto(e);
      p.repository = "";
      p.path = "";
      return p;
    });
    const bytes = toBinary(GetCatalogueResponseSchema, create(GetCatalogueResponseSchema, { entries }));
    this.#exported = { key, entries, digest: createHash("sha256").update(bytes).digest("hex") };
    return this.#exported;
  }
}

/** What {@link createPeering} needs. */
export interface PeeringOptions {
  domainId: string;
  config: FederationConfig;
  /** This domain's keys: the key signing now and the public keys published now. */
  keys: DomainKeySource;
  catalogue: Catalogue;
  edges: EdgeRegistry;
  apiEndpoint(): string;
  peerEndpoint(): string;
  version: string;
  logger: Logger;
  /** Monitoring aggregates for peers (Federation/QueryMonitoring); absent: not served. */
  queryMonitoring?: PeerFederationOptions["queryMonitoring"];
  /** More client interceptors per peer (the agent's metrics). */
  clientInterceptors?: PeerFederationOptions["clientInterceptors"];
}

/** The agent's federation: trust, the local domain's view, the registry and the service, and trust-list reload. */
export interface Peering {
  federation: PeerFederation;
  local: LocalDomain;
  /** Applies the trust list of a re-read config (SIGHUP). @throws CaminoError for an unreadable CA file */
  reload(peers: readonly ConfiguredPeer[]): Promise<void>;
}

/** Builds the agent's federation from its `federation` config section. */
export async function createPeering(options: PeeringOptions): Promise<Peering> {
  const { config } = options;
  const trust = createFederationTrust({
    domainId: options.domainId,
    ownKeys: options.keys,
    peers: [],
    clockToleranceSeconds: config.clockToleranceSeconds,
    rateLimit: config.rateLimit,
  });
  const local = new LocalDomain({
    domainId: options.domainId,
    config,
    apiEndpoint: options.apiEndpoint,
    peerEndpoint: options.peerEndpoint,
    catalogue: options.catalogue,
    edges: options.edges,
    version: options.version,
  });
  await local.load();
  // The edges' gateways are read in the background: an edge that is slow at start does not hold the agent up.
  void local.refreshGateways();
  const read = async (file: string, field: string) => {
    try {
      return await readFile(file, "utf8");
    } catch (err) {
      throw new CaminoError(
        "ERR_CONFIG_INVALID",
        `federation.clientTls.${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`,
        { cause: err },
      );
    }
  };
  const clientTls = config.clientTls
    ? { cert: await read(config.clientTls.certFile, "certFile"), key: await read(config.clientTls.keyFile, "keyFile") }
    : undefined;
  const federation = createPeerFederation({
    domainId: options.domainId,
    trust,
    peers: await federationPeers(config.peers, readPeerJwks),
    localInfo: () => local.info(),
    exportedCatalogue: (signal) => local.exportedCatalogue(signal),
    ...(options.queryMonitoring ? { queryMonitoring: options.queryMonitoring } : {}),
    ...(options.clientInterceptors ? { clientInterceptors: options.clientInterceptors } : {}),
    refreshIntervalMs: config.refreshIntervalSeconds * 1000,
    callTimeoutMs: config.callTimeoutMs,
    logger: options.logger,
    ...(clientTls ? { clientTls } : {}),
  });
  return {
    federation,
    local,
    async reload(peers) {
      const next = await federationPeers(peers, readPeerJwks);
      federation.setPeers(next);
      options.logger.info("trust list reloaded", { peers: next.map((p) => p.id) });
    },
  };
}
