/**
 * A chain's link objects on two emulated edges, as CAMINO commits them (blueprints/network/), for tests of the
 * mesh's metrics: fw → nat over HTTP (both on edge a: a DestinationRule for the client side, an
 * AuthorizationPolicy for the server side) and fw → db over TCP (db on edge b: the client side and its
 * ServiceEntry on edge a, the server side on edge b). The namespace is labelled istio-injection=enabled when
 * `meshed`.
 */
import type { Emulator } from "../../emulator/emulator.js";

async function post(e: Emulator, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${e.httpUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

const deployment = (name: string, ns: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: ns, labels: { "camino.io/intent": ns, "camino.io/package": name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { "camino.io/package": name } },
    template: {
      metadata: { labels: { "camino.io/intent": ns, "camino.io/package": name, app: name } },
      spec: { containers: [{ name: "main", image: `example.org/${name}:1` }] },
    },
  },
});

const annotated = (name: string, ns: string, link: string) => ({
  name,
  namespace: ns,
  annotations: { "camino.io/link": link },
});

/** The link objects of a chain `ns`: fw → nat (http, both on edge a), fw → db (tcp, db on edge b). */
export async function meshChain(a: Emulator, b: Emulator, ns: string, meshed: boolean): Promise<void> {
  for (const e of [a, b])
    await post(e, "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns, labels: meshed ? { "istio-injection": "enabled" } : {} },
    });
  for (const d of ["fw", "nat"]) await post(a, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(d, ns));
  await post(b, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment("db", ns));
  await post(a, `/api/v1/namespaces/${ns}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "nat", namespace: ns },
    spec: { selector: { "camino.io/package": "nat" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  });
  const dr = (link: string, consumer: string, host: string) => ({
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: annotated(link, ns, link),
    spec: { host, workloadSelector: { matchLabels: { "camino.io/package": consumer } } },
  });
  const ap = (link: string, provider: string, from: string) => ({
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: annotated(link, ns, link),
    spec: {
      selector: { matchLabels: { "camino.io/package": provider } },
      action: "ALLOW",
      rules: [{ from: [{ source: { principals: [`cluster.local/ns/${ns}/sa/${from}`] } }] }],
    },
  });
  await post(
    a,
    `/apis/networking.istio.io/v1/namespaces/${ns}/destinationrules`,
    dr("fw-nat-80", "fw", `nat.${ns}.svc.cluster.local`),
  );
  await post(a, `/apis/security.istio.io/v1/namespaces/${ns}/authorizationpolicies`, ap("fw-nat-80", "nat", "fw"));
  await post(
    a,
    `/apis/networking.istio.io/v1/namespaces/${ns}/destinationrules`,
    dr("fw-db-5432", "fw", `db.${ns}.svc.cluster.local`),
  );
  await post(a, `/apis/networking.istio.io/v1/namespaces/${ns}/serviceentries`, {
    apiVersion: "networking.istio.io/v1",
    kind: "ServiceEntry",
    metadata: { name: `db-5432`, namespace: ns },
    spec: { hosts: [`db.${ns}.svc.cluster.local`], ports: [{ number: 5432, name: "tcp-5432", protocol: "TCP" }] },
  });
  await post(b, `/apis/security.istio.io/v1/namespaces/${ns}/authorizationpolicies`, ap("fw-db-5432", "db", "fw"));
}

/** Waits until `count` pods run on the edges (bounded). */
export async function runningPods(edges: Emulator[], count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = edges.flatMap((e) =>
      e.store.list("/pods").filter((p) => (p as { status?: { phase?: string } }).status?.phase === "Running"),
    );
    if (running.length === count) return;
    if (Date.now() > deadline) throw new Error(`pods running: ${running.length} of ${count}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
