/**
 * The mesh's standard metrics (Istio's `istio_requests_total`, `istio_request_duration_milliseconds`,
 * `istio_tcp_*`), as Prometheus would scrape them from the sidecars of an emulated edge's meshed workloads
 * (pods in namespaces labelled `istio-injection=enabled`). The emulator runs no proxies, so the traffic is
 * synthetic: every link of a chain the edge can see carries a steady load ({@link LinkTraffic}: a request rate,
 * an error ratio and a latency distribution), which the `links` fault changes per link.
 *
 * The links are found from the objects CAMINO commits for them (blueprints/network/), each annotated
 * `camino.io/link`:
 * - a DestinationRule selecting the consumer's pods (`camino.io/package`) is the client side: series with
 *   `reporter="source"`, while a Running consumer pod is on this edge;
 * - an AuthorizationPolicy selecting the provider's pods is the server side: series with
 *   `reporter="destination"`, while a Running provider pod is on this edge.
 * A link is HTTP, gRPC or TCP by the ServiceEntry or Service port of its host (its protocol, appProtocol or
 * name prefix), else by whether it has a VirtualService.
 *
 * One series per link, reporter and response code: the edge's sidecars summed, as `sum by` over the scraped pods
 * would give. Counters are floats that grow continuously (rate × seconds), so a rate over any window is exact.
 */
import type { LinkTraffic } from "../faults.js";
import type { KubeObject, ObjectStore } from "../store.js";
import { workloadOf } from "./cadvisor.js";
import { at, objects, str, stringMap } from "./objects.js";
import { family, render, type Labels } from "./text-format.js";

/** Istio's default buckets of `istio_request_duration_milliseconds`. */
export const ISTIO_DURATION_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/** Every link's traffic unless the `links` fault says otherwise. */
export const DEFAULT_LINK_TRAFFIC: Required<LinkTraffic> = Object.freeze({
  requestRate: 10,
  errorRatio: 0,
  latencyMs: 20,
  p99LatencyMs: 80,
});

/** Bytes per TCP connection, each way. */
const TCP_BYTES_SENT = 2048;
const TCP_BYTES_RECEIVED = 512;

type Protocol = "http" | "grpc" | "tcp";

/** A link as one side of it sees it on this edge. */
export interface MeshLink {
  namespace: string;
  link: string;
  reporter: "source" | "destination";
  protocol: Protocol;
  source: { workload: string; namespace: string; principal: string; app: string; version: string };
  destination: {
    workload: string;
    namespace: string;
    principal: string;
    app: string;
    version: string;
    service: string;
    serviceName: string;
    serviceNamespace: string;
  };
}

/** The traffic in force for `"<namespace>/<link>"`: its entry, over the `"*"` entry, over the defaults. */
export function trafficOf(links: Readonly<Record<string, LinkTraffic>>, key: string): Required<LinkTraffic> {
  const t = { ...DEFAULT_LINK_TRAFFIC, ...links["*"], ...links[key] };
  const given = links[key]?.p99LatencyMs ?? links["*"]?.p99LatencyMs;
  if (given === undefined) t.p99LatencyMs = 4 * t.latencyMs;
  t.p99LatencyMs = Math.max(t.p99LatencyMs, t.latencyMs);
  return t;
}

/**
 * The share of requests at or under `ms`: the latency is spread evenly between 0 and the median, between the
 * median and the 99th percentile, and over the last percent up to twice the 99th percentile.
 */
export function latencyCdf(t: Required<LinkTraffic>, ms: number): number {
  const p50 = t.latencyMs;
  const p99 = t.p99LatencyMs;
  if (ms <= 0) return 0;
  if (ms <= p50) return p50 > 0 ? (0.5 * ms) / p50 : 0.5;
  if (ms <= p99) return p99 > p50 ? 0.5 + (0.49 * (ms - p50)) / (p99 - p50) : 0.99;
  if (ms >= 2 * p99) return 1;
  return 0.99 + (0.01 * (ms - p99)) / p99;
}

const meanLatency = (t: Required<LinkTraffic>): number =>
  0.5 * (t.latencyMs / 2) + 0.49 * ((t.latencyMs + t.p99LatencyMs) / 2) + 0.01 * 1.5 * t.p99LatencyMs;

/** A series' counters: requests (ok, failed), their durations by bucket and sum; TCP connections and bytes. */
interface Counters {
  lastMs: number;
  ok: number;
  failed: number;
  okBuckets: number[];
  failedBuckets: number[];
  okSum: number;
  failedSum: number;
  connections: number;
}

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/** The counters of every link series this edge has reported, advanced with the traffic in force. */
export class MeshTraffic {
  readonly #series = new Map<string, { key: string; counters: Counters }>();

  /** Advances every known series to `nowMs` with the traffic in force until then. */
  advance(nowMs: number, links: Readonly<Record<string, LinkTraffic>>): void {
    for (const { key, counters: c } of this.#series.values()) {
      const seconds = Math.max(0, (nowMs - c.lastMs) / 1000);
      c.lastMs = Math.max(c.lastMs, nowMs);
      if (seconds === 0) continue;
      const t = trafficOf(links, key);
      const n = t.requestRate * seconds;
      const failed = n * t.errorRatio;
      const ok = n - failed;
      c.ok += ok;
      c.failed += failed;
      c.connections += n;
      ISTIO_DURATION_BUCKETS.forEach((le, i) => {
        const share = latencyCdf(t, le);
        c.okBuckets[i] = (c.okBuckets[i] ?? 0) + ok * share;
        c.failedBuckets[i] = (c.failedBuckets[i] ?? 0) + failed * share;
      });
      c.okSum += ok * meanLatency(t);
      c.failedSum += failed * meanLatency(t);
    }
  }

  /** The series of `link`, started at `nowMs` when first seen. */
  counters(link: MeshLink, nowMs: number): Counters {
    const id = `${link.reporter}|${link.namespace}|${link.link}`;
    let s = this.#series.get(id);
    if (!s) {
      s = {
        key: `${link.namespace}/${link.link}`,
        counters: {
          lastMs: nowMs,
          ok: 0,
          failed: 0,
          okBuckets: ISTIO_DURATION_BUCKETS.map(() => 0),
          failedBuckets: ISTIO_DURATION_BUCKETS.map(() => 0),
          okSum: 0,
          failedSum: 0,
          connections: 0,
        },
      };
      this.#series.set(id, s);
    }
    return s.counters;
  }
}

const isRunning = (p: KubeObject): boolean =>
  str(p, "status", "phase") === "Running" && str(p, "spec", "nodeName") !== "";
const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The namespaces whose pods get sidecars. */
function meshedNamespaces(store: ObjectStore): Set<string> {
  return new Set(
    store
      .list("/namespaces")
      .filter((ns) => stringMap(ns, "metadata", "labels")["istio-injection"] === "enabled")
      .map((ns) => str(ns, "metadata", "name")),
  );
}

interface Workload {
  workload: string;
  app: string;
  version: string;
  serviceAccount: string;
}

/** The workload of the first Running pod of `namespace` matching `selector`. */
function workloadFor(store: ObjectStore, namespace: string, selector: Record<string, string>): Workload | undefined {
  const pod = store
    .list("/pods", namespace)
    .find((p) => isRunning(p) && selects(selector, stringMap(p, "metadata", "labels")));
  if (!pod) return undefined;
  const labels = stringMap(pod, "metadata", "labels");
  return {
    workload: workloadOf(store, pod).split("/")[1] ?? "",
    app: labels["app"] ?? labels["app.kubernetes.io/name"] ?? "unknown",
    version: labels["version"] ?? labels["app.kubernetes.io/version"] ?? "unknown",
    serviceAccount: str(pod, "spec", "serviceAccountName") || "default",
  };
}

function protocolOfName(p: string): Protocol | undefined {
  const x = p.toLowerCase();
  if (x === "grpc" || x.startsWith("grpc-")) return "grpc";
  if (x === "http" || x === "http2" || x.startsWith("http-") || x.startsWith("http2-")) return "http";
  if (x === "tcp" || x === "tls" || x.startsWith("tcp-") || x.startsWith("tls-")) return "tcp";
  return undefined;
}

/** A link's protocol, from its host's ServiceEntry or Service, else from whether it has a VirtualService. */
function protocolOf(store: ObjectStore, namespace: string, link: string, host: string): Protocol {
  for (const se of store.list("networking.istio.io/serviceentries", namespace)) {
    const hosts = at(se, "spec", "hosts");
    if (!Array.isArray(hosts) || !hosts.includes(host)) continue;
    for (const p of objects(se, "spec", "ports")) {
      const found = protocolOfName(str(p, "protocol")) ?? protocolOfName(str(p, "name"));
      if (found) return found;
    }
  }
  const m = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(host);
  if (m) {
    const svc = store.get("/services", m[2], m[1] as string);
    for (const p of objects(svc, "spec", "ports")) {
      const found = protocolOfName(str(p, "appProtocol")) ?? protocolOfName(str(p, "name"));
      if (found) return found;
    }
  }
  const routed = store
    .list("networking.istio.io/virtualservices", namespace)
    .some((vs) => stringMap(vs, "metadata", "annotations")["camino.io/link"] === link);
  return routed ? "http" : "tcp";
}

const spiffe = (trustDomain: string, namespace: string, serviceAccount: string): string =>
  `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;

/** Every link side this edge's meshed workloads report, sorted. */
export function meshLinks(store: ObjectStore, trustDomain = "cluster.local"): MeshLink[] {
  const meshed = meshedNamespaces(store);
  const out: MeshLink[] = [];
  // Client side: a DestinationRule of the link, selecting the consumer.
  for (const dr of store.list("networking.istio.io/destinationrules")) {
    const namespace = str(dr, "metadata", "namespace");
    const link = stringMap(dr, "metadata", "annotations")["camino.io/link"];
    if (!link || !meshed.has(namespace)) continue;
    const consumer = workloadFor(store, namespace, stringMap(dr, "spec", "workloadSelector", "matchLabels"));
    if (!consumer) continue;
    const host = str(dr, "spec", "host");
    const m = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(host);
    const serviceName = m ? (m[1] as string) : host;
    const serviceNamespace = m ? (m[2] as string) : namespace;
    const svc = m ? store.get("/services", serviceNamespace, serviceName) : undefined;
    const provider = svc ? workloadFor(store, serviceNamespace, stringMap(svc, "spec", "selector")) : undefined;
    out.push({
      namespace,
      link,
      reporter: "source",
      protocol: protocolOf(store, namespace, link, host),
      source: {
        workload: consumer.workload,
        namespace,
        principal: spiffe(trustDomain, namespace, consumer.serviceAccount),
        app: consumer.app,
        version: consumer.version,
      },
      destination: {
        // A provider on another edge is known to the client's sidecar by the endpoint's metadata: its package.
        workload: m ? (provider?.workload ?? serviceName) : "unknown",
        namespace: m ? serviceNamespace : "unknown",
        principal: m ? spiffe(trustDomain, serviceNamespace, provider?.serviceAccount ?? "default") : "unknown",
        app: provider?.app ?? "unknown",
        version: provider?.version ?? "unknown",
        service: host,
        serviceName,
        serviceNamespace,
      },
    });
  }
  // Server side: an AuthorizationPolicy of the link, selecting the provider.
  for (const ap of store.list("security.istio.io/authorizationpolicies")) {
    const namespace = str(ap, "metadata", "namespace");
    const link = stringMap(ap, "metadata", "annotations")["camino.io/link"];
    if (!link || !meshed.has(namespace)) continue;
    const selector = stringMap(ap, "spec", "selector", "matchLabels");
    const provider = workloadFor(store, namespace, selector);
    if (!provider) continue;
    const pkg = selector["camino.io/package"] ?? provider.workload;
    // The link is `<consumer>-<provider>-<port>`; the principal names the consumer's namespace.
    const stem = link.replace(/-\d+$/, "");
    const consumer = stem.endsWith(`-${pkg}`) ? stem.slice(0, -pkg.length - 1) : "unknown";
    const principal = objects(ap, "spec", "rules")
      .flatMap((r) => objects(r, "from"))
      .flatMap((f) => {
        const p = at(f, "source", "principals");
        return Array.isArray(p) ? p.filter((x): x is string => typeof x === "string") : [];
      })[0];
    const fromNs = principal ? /\/ns\/([^/]+)\/sa\//.exec(principal)?.[1] : undefined;
    const svc = store
      .list("/services", namespace)
      .find(
        (s) =>
          Object.keys(stringMap(s, "spec", "selector")).length > 0 &&
          selects(stringMap(s, "spec", "selector"), selector),
      );
    const serviceName = svc ? str(svc, "metadata", "name") : pkg;
    const host = `${serviceName}.${namespace}.svc.cluster.local`;
    // A consumer on this edge is known by its pods; one elsewhere by the peer metadata its sidecar sends.
    const client =
      consumer === "unknown" ? undefined : workloadFor(store, fromNs ?? namespace, { "camino.io/package": consumer });
    out.push({
      namespace,
      link,
      reporter: "destination",
      protocol: protocolOf(store, namespace, link, host),
      source: {
        workload: consumer,
        namespace: fromNs ?? namespace,
        principal: principal ? `spiffe://${principal}` : "unknown",
        app: client?.app ?? "unknown",
        version: client?.version ?? "unknown",
      },
      destination: {
        workload: provider.workload,
        namespace,
        principal: spiffe(trustDomain, namespace, provider.serviceAccount),
        app: provider.app,
        version: provider.version,
        service: host,
        serviceName,
        serviceNamespace: namespace,
      },
    });
  }
  return out.sort((a, b) =>
    a.namespace !== b.namespace
      ? a.namespace < b.namespace
        ? -1
        : 1
      : a.link !== b.link
        ? a.link < b.link
          ? -1
          : 1
        : a.reporter < b.reporter
          ? -1
          : a.reporter > b.reporter
            ? 1
            : 0,
  );
}

/** Istio's standard labels of a link side, before the response's. */
function standardLabels(l: MeshLink, cluster: string): [string, string][] {
  return [
    ["reporter", l.reporter],
    ["source_workload", l.source.workload],
    ["source_canonical_service", l.source.workload],
    ["source_canonical_revision", l.source.version === "unknown" ? "latest" : l.source.version],
    ["source_workload_namespace", l.source.namespace],
    ["source_principal", l.source.principal],
    ["source_app", l.source.app],
    ["source_version", l.source.version],
    ["source_cluster", l.reporter === "source" ? cluster : "unknown"],
    ["destination_workload", l.destination.workload],
    ["destination_workload_namespace", l.destination.namespace],
    ["destination_principal", l.destination.principal],
    ["destination_app", l.destination.app],
    ["destination_version", l.destination.version],
    ["destination_service", l.destination.service],
    ["destination_canonical_service", l.destination.workload],
    ["destination_canonical_revision", l.destination.version === "unknown" ? "latest" : l.destination.version],
    ["destination_service_name", l.destination.serviceName],
    ["destination_service_namespace", l.destination.serviceNamespace],
    ["destination_cluster", l.reporter === "destination" ? cluster : "unknown"],
  ];
}

/**
 * The Istio standard metrics of the edge's meshed workloads at `nowMs`: `istio_requests_total` and
 * `istio_request_duration_milliseconds` (a histogram with Istio's default buckets) for HTTP and gRPC links,
 * `istio_tcp_sent_bytes_total`, `istio_tcp_received_bytes_total`, `istio_tcp_connections_opened_total` and
 * `istio_tcp_connections_closed_total` for TCP links. HTTP failures are `response_code="503"`; gRPC ones are
 * `response_code="200"` with `grpc_response_status="14"` (UNAVAILABLE). A failed series appears once it has
 * counted something, as a proxy's does. `cluster` is the edge's name (`source_cluster`/`destination_cluster`).
 */
export function renderIstio(
  store: ObjectStore,
  traffic: MeshTraffic,
  links: Readonly<Record<string, LinkTraffic>>,
  nowMs: number,
  cluster: string,
): string {
  const requests = family("istio_requests_total", "requests_total", "counter");
  const duration = family("istio_request_duration_milliseconds", "request_duration_milliseconds", "histogram");
  const sent = family("istio_tcp_sent_bytes_total", "tcp_sent_bytes_total", "counter");
  const received = family("istio_tcp_received_bytes_total", "tcp_received_bytes_total", "counter");
  const opened = family("istio_tcp_connections_opened_total", "tcp_connections_opened_total", "counter");
  const closed = family("istio_tcp_connections_closed_total", "tcp_connections_closed_total", "counter");
  const found = meshLinks(store);
  const counters = found.map((l) => traffic.counters(l, nowMs));
  traffic.advance(nowMs, links);
  found.forEach((l, i) => {
    const c = counters[i] as Counters;
    const base = standardLabels(l, cluster);
    const security: [string, string] = [
      "connection_security_policy",
      l.reporter === "destination" ? "mutual_tls" : "unknown",
    ];
    if (l.protocol === "tcp") {
      const labels: Labels = [...base, ["request_protocol", "tcp"], ["response_flags", "-"], security];
      sent.samples.push({ labels, value: round(c.connections * TCP_BYTES_SENT) });
      received.samples.push({ labels, value: round(c.connections * TCP_BYTES_RECEIVED) });
      opened.samples.push({ labels, value: round(c.connections) });
      closed.samples.push({ labels, value: round(c.connections) });
      return;
    }
    const outcomes: [boolean, number, number[], number][] = [
      [true, c.ok, c.okBuckets, c.okSum],
      [false, c.failed, c.failedBuckets, c.failedSum],
    ];
    for (const [ok, count, buckets, sum] of outcomes) {
      if (!ok && count === 0) continue;
      const response: [string, string][] =
        l.protocol === "grpc"
          ? [
              ["request_protocol", "grpc"],
              ["response_code", "200"],
              ["grpc_response_status", ok ? "0" : "14"],
            ]
          : [
              ["request_protocol", "http"],
              ["response_code", ok ? "200" : "503"],
              ["grpc_response_status", ""],
            ];
      const labels: Labels = [...base, ...response, ["response_flags", ok ? "-" : "UF"], security];
      requests.samples.push({ labels, value: round(count) });
      ISTIO_DURATION_BUCKETS.forEach((le, b) => {
        duration.samples.push({
          labels: [...labels, ["le", String(le)]],
          value: round(buckets[b] ?? 0),
          suffix: "_bucket",
        });
      });
      duration.samples.push({ labels: [...labels, ["le", "+Inf"]], value: round(count), suffix: "_bucket" });
      duration.samples.push({ labels, value: round(sum), suffix: "_sum" });
      duration.samples.push({ labels, value: round(count), suffix: "_count" });
    }
  });
  return render([requests, duration, sent, received, opened, closed]);
}
