/**
 * Healing (`spec.heal: replace`, agent/orchestration/heal.ts), in one process and in seconds: the real
 * DeploymentManager over local git repositories and three embedded edge emulators, a grace period of 1 s.
 * - an edge whose nodes are all lost past the grace period: its package moves to another edge that fits, by a
 *   revision of its own; the new copy is committed on the new edge before the package leaves the lost edge's
 *   repository; the link's network objects follow (the provider side's policies on the new edge, the consumer's
 *   ServiceEntry and egress rule on its own edge pointed at the new edge's east-west gateway, in the repository and
 *   live); reservations count it once, on the new edge, also once the lost edge is back; when the lost edge
 *   returns, its ConfigSync removes the old copy;
 * - an edge that does not answer at all (its API down) past the grace period: the same move, the reason saying
 *   the edge is unreachable;
 * - with no other edge that fits, the package stays DEGRADED and its reason says why; nothing is moved.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { validateIntent } from "../../agent/intent/validate.js";
import type { DeploymentRecord } from "../../agent/orchestration/journal.js";
import type { Emulator } from "../../emulator/emulator.js";
import { gitIn, startInProcessDomain, waitFor, type InProcessDomain } from "../helpers/in-process-domain.js";

const EDGES = ["edge-1", "edge-2", "edge-3"] as const;
type EdgeName = (typeof EDGES)[number];

let domain: InProcessDomain;

const emulator = (edge: string) => domain.emulators.get(edge) as Emulator;
const nodeOf = (edge: string) => `${edge}-node`;

/** Submits a two-package intent with a link, `front` on `frontEdge`, `back` placed by `selector`; waits. */
async function deploy(
  name: string,
  frontEdge: EdgeName,
  selector: Record<string, string>,
  heal = "replace",
): Promise<DeploymentRecord> {
  const doc = {
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name },
    spec: {
      timeout: "20s",
      heal,
      packages: [
        {
          name: "front",
          blueprint: "traffic-sink",
          resources: { cpu: "10m", memory: "16Mi" },
          placement: { edge: frontEdge },
        },
        {
          name: "back",
          blueprint: "traffic-sink",
          resources: { cpu: "10m", memory: "16Mi" },
          placement: { edgeSelector: selector },
        },
      ],
      links: [{ from: "front", to: "back", port: 8080, protocol: "http" }],
    },
  };
  // As SubmitIntent hands it over: the validated intent and its document.
  await domain.manager.submit(validateIntent(doc), doc);
  return settle(name);
}

/** Follows the deployment's current run until it is over; returns its record then. */
async function settle(name: string, timeoutMs = 20_000): Promise<DeploymentRecord> {
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const _ of domain.manager.watch(name, undefined, signal));
  return domain.manager.get(name);
}

const pkgOf = (name: string, pkg: string) => domain.manager.get(name).packages.find((p) => p.package === pkg);

/** The address of an edge's east-west gateway, as its `istio-eastwestgateway` Service reports it. */
const gatewayOf = (edge: string): string => {
  const svc = emulator(edge).store.get("/services", "istio-system", "istio-eastwestgateway");
  const ip = (svc?.["status"] as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer
    ?.ingress?.[0]?.ip;
  if (!ip) throw new Error(`${edge} reports no east-west gateway address`);
  return ip;
};

/** An address as a whole word of a text (192.0.2.8 is not in 192.0.2.82). */
const addressIn = (address: string) => new RegExp(`(?<![\\d.])${address.replaceAll(".", "\\.")}(?![\\d])`);

/** A file of an edge's deployment repository at its head (git CLI). */
const fileIn = (edge: string, path: string) => gitIn(domain.repositoryDir(edge), "show", `HEAD:${path}`);

/** The spec of an object as the edge runs it (its emulator's store). */
const liveSpec = <T>(edge: string, type: string, namespace: string, name: string): T | undefined =>
  emulator(edge).store.get(type, namespace, name)?.["spec"] as T | undefined;

/** The endpoint addresses of the consumer edge's ServiceEntry for `back`, live. */
const remoteEndpoints = (edge: string, intent: string) =>
  liveSpec<{ endpoints?: { address: string }[] }>(
    edge,
    "networking.istio.io/serviceentries",
    intent,
    "remote-back-8080",
  )?.endpoints?.map((e) => e.address);

/** The address blocks the consumer edge's egress rule for the link lets `front` reach, live. */
const egressBlocks = (edge: string, intent: string) =>
  liveSpec<{ egress?: { to?: { ipBlock?: { cidr: string } }[] }[] }>(
    edge,
    "networking.k8s.io/networkpolicies",
    intent,
    "front-back-8080-egress",
  )?.egress?.flatMap((r) => (r.to ?? []).map((t) => t.ipBlock?.cidr));

/** The pods of one package on an edge (its emulator's store). */
const podsOf = (edge: string, intent: string, pkg: string) =>
  emulator(edge)
    .store.list("/pods", intent)
    .filter((p) => (p["metadata"] as { labels?: Record<string, string> }).labels?.["camino.io/package"] === pkg);

/** The intent's files in an edge's deployment repository at its head (git CLI). */
const filesIn = (edge: string, intent: string) =>
  gitIn(domain.repositoryDir(edge), "ls-tree", "-r", "--name-only", "HEAD", "--", `${intent}/`)
    .split("\n")
    .filter(Boolean);

describe("healing: spec.heal replace", () => {
  beforeAll(async () => {
    domain = await startInProcessDomain({
      healGraceMs: 1000,
      edges: EDGES.map((name) => ({
        name,
        labels: { zone: name === "edge-1" ? "north" : "south" },
        nodes: [{ name: nodeOf(name), cpu: "4", memory: "8Gi", pods: 100 }],
      })),
    });
  }, 30_000);

  afterAll(async () => {
    await domain?.close();
  });

  afterEach(async () => {
    for (const e of EDGES) await emulator(e).setFaults({ apiUnavailable: false, nodesNotReady: [] });
    expect(domain.logged.filter((l) => l.level === "error")).toEqual([]);
  });

  it("an edge lost past the grace period: the package moves to another edge that fits, new copy first, the old one removed when the edge returns", async () => {
    const first = await deploy("mover", "edge-1", { zone: "south" });
    expect(first.state, first.reason).toBe("READY");
    const lost = pkgOf("mover", "back")?.edge as EdgeName;
    const other = lost === "edge-2" ? "edge-3" : "edge-2";
    expect(["edge-2", "edge-3"]).toContain(lost);
    expect(filesIn(lost, "mover").some((f) => f.startsWith("mover/back/"))).toBe(true);
    // The two gateways differ, so where front's side points tells them apart; it points at the lost edge's now.
    expect(gatewayOf(other)).not.toBe(gatewayOf(lost));
    expect(remoteEndpoints("edge-1", "mover")).toEqual([gatewayOf(lost)]);
    await waitFor("the intent watched", () => domain.manager.watched >= 1);

    await emulator(lost).setFaults({ nodesNotReady: [nodeOf(lost)] });
    await waitFor("back DEGRADED", () => pkgOf("mover", "back")?.state === "DEGRADED");
    // The grace period passes; the move is a revision of its own.
    await waitFor("the heal revision", () => domain.manager.get("mover").revision === 2, 15_000);
    const healed = await settle("mover");
    expect(healed.state, healed.reason).toBe("READY");
    expect(pkgOf("mover", "back")?.edge).toBe(other);
    expect(pkgOf("mover", "front")?.edge).toBe("edge-1");
    const started = healed.events.find((e) => e.reason.startsWith("healing:"));
    expect(started?.reason).toMatch(
      new RegExp(`^healing: edge ${lost} lost \\(no node Ready\\) for \\d+ s; moving back → ${other}$`),
    );

    // The new copy was committed on the new edge before the package left the lost edge's repository.
    const order = healed.events.map((e) => `${e.package} ${e.state} ${e.reason}`);
    const committed = order.findIndex((x) => x.startsWith("back COMMITTED") && x.includes(`${other}-deploy`));
    const removed = order.findIndex((x) => x.includes(`from ${lost}-deploy`));
    expect(committed).toBeGreaterThanOrEqual(0);
    expect(removed).toBeGreaterThan(committed);
    expect(filesIn(lost, "mover")).toEqual([]);
    expect(filesIn(other, "mover").some((f) => f.startsWith("mover/back/"))).toBe(true);
    expect(emulator(other).store.get("apps/deployments", "mover", "back")).toBeDefined();

    // The link followed. The provider side (ingress from the local gateway, front's principal allowed) is in the
    // new edge's repository, and the new edge runs it…
    const link = "mover/_chain/links/front-back-8080";
    expect(filesIn(other, link).filter((f) => /\.yaml$/.test(f) && !f.endsWith("/iesd.yaml"))).toEqual([
      `${link}/link-allow-gateway/networkpolicy.yaml`,
      `${link}/link-authorization/authorizationpolicy.yaml`,
    ]);
    expect(liveSpec(other, "networking.k8s.io/networkpolicies", "mover", "front-back-8080")).toBeDefined();
    const allowed = liveSpec<{ rules: { from: { source: { principals: string[] } }[] }[] }>(
      other,
      "security.istio.io/authorizationpolicies",
      "mover",
      "front-back-8080",
    );
    expect(allowed?.rules[0]?.from[0]?.source.principals).toEqual(["cluster.local/ns/mover/sa/default"]);
    // … and front's side on edge-1 leads to the new edge's gateway, no longer to the lost one's: the ServiceEntry
    // that makes back's name resolve there, and the egress rule, in the repository and live.
    const frontSide = filesIn("edge-1", "mover/_chain")
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => fileIn("edge-1", f))
      .join("\n");
    expect(frontSide).toMatch(addressIn(gatewayOf(other)));
    expect(frontSide).not.toMatch(addressIn(gatewayOf(lost)));
    expect(remoteEndpoints("edge-1", "mover")).toEqual([gatewayOf(other)]);
    expect(egressBlocks("edge-1", "mover")).toEqual([`${gatewayOf(other)}/32`]);
    // Counted once: back's reservation is on the new edge, none is left on the lost one.
    expect(
      domain.book
        .held("mover")
        .filter((r) => r.package === "back")
        .map((r) => r.edge),
    ).toEqual([other]);

    // The lost edge returns: its ConfigSync removes the old copy, as its repository says.
    await emulator(lost).setFaults({ nodesNotReady: [] });
    await waitFor(
      "the old copy removed",
      () => emulator(lost).store.get("apps/deployments", "mover", "back") === undefined,
      15_000,
    );
    expect(domain.manager.get("mover").state).toBe("READY");
    expect(pkgOf("mover", "back")?.edge).toBe(other);
    // Still counted once, on the new edge, with the lost edge back…
    expect(
      domain.book
        .held("mover")
        .filter((r) => r.package === "back")
        .map((r) => r.edge),
    ).toEqual([other]);
    // … and once the edges are read afresh (as the next admission reads them): back's pod is seen on the new edge
    // only, which releases its reservation there; the lost edge counts nothing of it.
    await waitFor("the old copy's pods gone", () => podsOf(lost, "mover", "back").length === 0, 15_000);
    await domain.book.refresh({ edges: [...EDGES] });
    expect(domain.book.observed(lost, "mover", "back").pods).toBe(0);
    expect(domain.book.observed(other, "mover", "back").pods).toBe(1);
    expect(domain.book.held("mover").filter((r) => r.package === "back")).toEqual([]);
    await domain.manager.terminate("mover");
    expect((await settle("mover")).state).toBe("TERMINATED");
  });

  it("an edge that does not answer past the grace period: the package moves to another edge that fits", async () => {
    const first = await deploy("away", "edge-1", { zone: "south" });
    expect(first.state, first.reason).toBe("READY");
    const lost = pkgOf("away", "back")?.edge as EdgeName;
    const other = lost === "edge-2" ? "edge-3" : "edge-2";
    expect(["edge-2", "edge-3"]).toContain(lost);
    await waitFor("the intent watched", () => domain.manager.watched >= 1);

    // Its API goes down: nothing of the edge can be read, its nodes neither.
    await emulator(lost).setFaults({ apiUnavailable: true });
    await waitFor("back DEGRADED", () => pkgOf("away", "back")?.state === "DEGRADED");
    await waitFor("the heal revision", () => domain.manager.get("away").revision === 2, 15_000);
    const healed = await settle("away");
    expect(healed.state, healed.reason).toBe("READY");
    expect(pkgOf("away", "back")?.edge).toBe(other);
    expect(pkgOf("away", "front")?.edge).toBe("edge-1");
    expect(healed.events.find((e) => e.reason.startsWith("healing:"))?.reason).toMatch(
      new RegExp(`^healing: edge ${lost} lost \\(unreachable: .+\\) for \\d+ s; moving back → ${other}$`),
    );
    // Moved without the lost edge's word: the package left its repository, the new edge runs it, front's side
    // leads there.
    expect(filesIn(lost, "away")).toEqual([]);
    expect(filesIn(other, "away").some((f) => f.startsWith("away/back/"))).toBe(true);
    expect(emulator(other).store.get("apps/deployments", "away", "back")).toBeDefined();
    expect(remoteEndpoints("edge-1", "away")).toEqual([gatewayOf(other)]);
    expect(
      domain.book
        .held("away")
        .filter((r) => r.package === "back")
        .map((r) => r.edge),
    ).toEqual([other]);

    // It answers again: the old copy is gone from it, as its repository says; the intent stays READY.
    await emulator(lost).setFaults({ apiUnavailable: false });
    await waitFor(
      "the old copy removed",
      () => emulator(lost).store.get("apps/deployments", "away", "back") === undefined,
      15_000,
    );
    expect(domain.manager.get("away").state).toBe("READY");
    expect(pkgOf("away", "back")?.edge).toBe(other);
    await domain.manager.terminate("away");
    expect((await settle("away")).state).toBe("TERMINATED");
  });

  it("heal none (the default): a lost edge is only reported, nothing moves", async () => {
    const first = await deploy("stay", "edge-1", { zone: "south" }, "none");
    expect(first.state, first.reason).toBe("READY");
    const lost = pkgOf("stay", "back")?.edge as EdgeName;
    await waitFor("the intent watched", () => domain.manager.watched >= 1);
    await emulator(lost).setFaults({ nodesNotReady: [nodeOf(lost)] });
    await waitFor("back DEGRADED", () => pkgOf("stay", "back")?.state === "DEGRADED");
    const since = Date.now();
    // Three grace periods pass on the DEGRADED package.
    await waitFor(
      "three grace periods",
      () => Date.now() - since > 3000 && pkgOf("stay", "back")?.state === "DEGRADED",
    );
    const r = domain.manager.get("stay");
    expect(r.revision).toBe(1);
    expect(pkgOf("stay", "back")?.edge).toBe(lost);
    expect(pkgOf("stay", "back")?.reason).not.toMatch(/heal/);
    await emulator(lost).setFaults({ nodesNotReady: [] });
    await waitFor("READY again", () => domain.manager.get("stay").state === "READY", 15_000);
    await domain.manager.terminate("stay");
    expect((await settle("stay")).state).toBe("TERMINATED");
  });

  it("no other edge fits: the package stays DEGRADED and its reason says so; nothing moves", async () => {
    const first = await deploy("stuck", "edge-2", { zone: "north" });
    expect(first.state, first.reason).toBe("READY");
    expect(pkgOf("stuck", "back")?.edge).toBe("edge-1");
    await waitFor("the intent watched", () => domain.manager.watched >= 1);

    await emulator("edge-1").setFaults({ nodesNotReady: [nodeOf("edge-1")] });
    await waitFor(
      "the reason says it cannot heal",
      () => /cannot heal: no other edge fits/.test(pkgOf("stuck", "back")?.reason ?? ""),
      15_000,
    );
    const r = domain.manager.get("stuck");
    expect(r.state).toBe("DEGRADED");
    expect(r.revision).toBe(1);
    expect(pkgOf("stuck", "front")?.state).toBe("READY");
    expect(filesIn("edge-1", "stuck").some((f) => f.startsWith("stuck/back/"))).toBe(true);

    await emulator("edge-1").setFaults({ nodesNotReady: [] });
    await waitFor("READY again", () => domain.manager.get("stuck").state === "READY", 15_000);
    await domain.manager.terminate("stuck");
    expect((await settle("stuck")).state).toBe("TERMINATED");
  });
});
