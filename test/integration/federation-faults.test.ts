/**
 * Faults across the segment boundary: domain-x places a package in domain-y (a segment), each a real agent
 * process with real emulated edges (separate processes), and one side is killed, stalled or refuses at each
 * step of the segment's protocol: before Propose, during it, between Propose and Commit, during Commit, after
 * it (the peer or the origin), a lease lapsing before Commit, a repeated or stale Commit, and a quota. Every
 * case ends, once both sides have restarted and reconciled, as a user would want to find it:
 *
 * - the origin's intent ROLLED_BACK, its reason naming the segment or the peer, and no segment left open in
 *   its ListSegments;
 * - the peer runs nothing for it: its deployment of the segment TERMINATED, ROLLED_BACK or never made, its
 *   ListSegments empty, the segment's namespace gone from edge-3, and no room held on edge-3 (a package that
 *   needs most of the edge is admitted by the peer's own PlanIntent: the segment's package takes 8 of 16 CPUs).
 *
 * Failpoints (agent/failpoints.ts) put the faults at exact places; agents are restarted with other
 * environments between cases. Every wait polls a bounded condition.
 */
import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { Federation } from "../../gen/camino/v1/federation_pb.js";
import { DeploymentState, type Deployment } from "../../gen/camino/v1/types_pb.js";
import { federationClientAuth } from "../../federation/call-auth.js";
import { createFederationTrust } from "../../federation/federation-trust.js";
import type { PublicJwks } from "../../federation/trust.js";
import { intentToMessage } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { domainAgentOptions, peerUp } from "../helpers/federated-domains.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

let x: AgentProcess;
let y: AgentProcess;
const edges = new Map<string, EmulatorProcess>();
const SCOPES = ["intents:write", "intents:read", "catalogue:read", "repos:admin"];
const LEASE_SECONDS = 10;
const NO_FAILPOINTS = {};
/** The intents each case submitted (a case that fails leaves none READY to hold the peer's room for the next). */
const submitted = new Set<string>();
const failpoints = (spec: string) => ({ CAMINO_FAILPOINTS: spec });

async function api(agent: AgentProcess) {
  const headers = { authorization: `Bearer ${await agent.token(SCOPES)}` };
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  return { client, headers, call: { headers, timeoutMs: 5000 } };
}

/** Polls `check` until it returns a value, bounded; a call failing (an agent restarting) counts as not yet. */
async function eventually<T>(check: () => Promise<T | undefined>, what: () => string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what()}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The intent of each case: `near` on domain-x's edge-1, `far` (8 CPUs) placed in domain-y as a segment. */
function intentOf(name: string, timeout?: string) {
  return validateIntent({
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name },
    spec: {
      ...(timeout ? { timeout } : {}),
      packages: [
        {
          name: "near",
          blueprint: "traffic-sink",
          resources: { cpu: "50m", memory: "32Mi" },
          placement: { edge: "edge-1" },
        },
        {
          name: "far",
          blueprint: "traffic-sink",
          resources: { cpu: "8", memory: "64Mi" },
          placement: { domain: "domain-y" },
        },
      ],
    },
  });
}
const segmentOf = (name: string) => `domain-x.${name}.domain-y`;

async function submit(name: string, timeout?: string): Promise<void> {
  const { client, call } = await api(x);
  submitted.add(name);
  await client.submitIntent({ intent: intentToMessage(intentOf(name, timeout)) }, call);
}

async function deployment(agent: AgentProcess, name: string): Promise<Deployment | undefined> {
  const { client, call } = await api(agent);
  try {
    return (await client.getDeployment({ name }, call)).deployment;
  } catch (err) {
    if (err instanceof ConnectError && err.code === Code.NotFound) return undefined;
    throw err;
  }
}
const stateOf = (d: Deployment | undefined) => (d ? DeploymentState[d.state] : "absent");
const SETTLED = new Set(["READY", "ROLLED_BACK", "FAILED", "TERMINATED"]);

/** Waits until the origin's intent `name` settles; returns it. */
async function settled(name: string, ms = 20_000): Promise<Deployment> {
  let seen: Deployment | undefined;
  return eventually(
    async () => {
      seen = await deployment(x, name);
      return seen && SETTLED.has(stateOf(seen)) ? seen : undefined;
    },
    () => `${name} to settle on domain-x (it is ${stateOf(seen)}: ${seen?.reason})`,
    ms,
  );
}

/** Waits until each agent sees the other up, with its Hello (what placing a segment needs). */
async function peersUp(): Promise<void> {
  await Promise.all([peerUp(x, y), peerUp(y, x)]);
}

/** An object list from an emulated edge's Kubernetes API. */
async function namespaces(edge: string): Promise<string[]> {
  const res = await fetch(`${edges.get(edge)?.url}/api/v1/namespaces`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { metadata: { name: string } }[] }).items.map((o) => o.metadata.name);
}

/** Whether domain-y's own planning admits a package of 12 CPUs on edge-3 (16): false while 8 are held. */
async function peerHasRoom(): Promise<boolean> {
  const { client, call } = await api(y);
  const intent = validateIntent({
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name: "room" },
    spec: { packages: [{ name: "big", blueprint: "traffic-sink", resources: { cpu: "12", memory: "64Mi" } }] },
  });
  const plan = (await client.planIntent({ intent: intentToMessage(intent) }, call)).plan;
  return plan?.admitted === true;
}

/** Both sides' segment lists (ids, as each lists them). */
async function segmentLists(): Promise<{ x: string[]; y: string[] }> {
  const [a, b] = await Promise.all([api(x), api(y)]);
  const [sx, sy] = await Promise.all([a.client.listSegments({}, a.call), b.client.listSegments({}, b.call)]);
  return {
    x: sx.segments.map((s) => `${s.id} ${s.role} ${s.phase} ${s.reason}`),
    y: sy.segments.map((s) => `${s.id} ${s.role} ${s.phase} ${s.reason}`),
  };
}

/**
 * The end every case must reach: the origin's intent ROLLED_BACK (its reason matching `reason`), no segment
 * open on either side, nothing of the segment running on domain-y or left on edge-3, and no room held there.
 */
async function consistentAfterRollback(name: string, reason: RegExp): Promise<Deployment> {
  const d = await settled(name);
  expect(stateOf(d), d.reason).toBe("ROLLED_BACK");
  expect(d.reason).toMatch(reason);
  let lists: { x: string[]; y: string[] } = { x: [], y: [] };
  await eventually(
    async () => {
      lists = await segmentLists();
      return lists.x.length === 0 && lists.y.length === 0 ? true : undefined;
    },
    () => `both sides' ListSegments to be empty: ${JSON.stringify(lists)}`,
  );
  const origin = (await deployment(x, name)) as Deployment;
  expect(stateOf(origin)).toBe("ROLLED_BACK");
  for (const s of origin.segments) expect(["ABORTED", "TERMINATED"], s.reason).toContain(s.phase);
  let hosted: Deployment | undefined;
  await eventually(
    async () => {
      hosted = await deployment(y, `${name}-domain-x`);
      return ["absent", "TERMINATED", "ROLLED_BACK"].includes(stateOf(hosted)) ? true : undefined;
    },
    () => `domain-y's deployment of the segment to end (it is ${stateOf(hosted)}: ${hosted?.reason})`,
  );
  await eventually(
    async () => ((await namespaces("edge-3")).includes(`${name}-domain-x`) ? undefined : true),
    () => `namespace ${name}-domain-x to leave edge-3`,
  );
  await eventually(
    async () => ((await peerHasRoom()) ? true : undefined),
    () => "domain-y to hold no room for the segment",
  );
  return origin;
}

beforeAll(async () => {
  const started = await Promise.all([
    startEmulatorProcess({
      name: "edge-1",
      eastWestAddress: "192.0.2.11",
      nodes: [{ name: "n1", cpu: "4", memory: "8Gi" }],
    }),
    startEmulatorProcess({
      name: "edge-2",
      eastWestAddress: "192.0.2.12",
      nodes: [{ name: "n1", cpu: "4", memory: "8Gi" }],
    }),
    startEmulatorProcess({
      name: "edge-3",
      eastWestAddress: "192.0.2.13",
      nodes: [{ name: "n1", cpu: "16", memory: "32Gi" }],
    }),
  ]);
  for (const [i, e] of started.entries()) edges.set(`edge-${i + 1}`, e);
  const on = (...names: string[]) => names.map((name) => ({ name, url: edges.get(name)?.url as string }));
  const federation = { segmentLeaseSeconds: LEASE_SECONDS, segmentReconcileSeconds: 1 };
  [x, y] = await Promise.all([
    startAgentProcess(
      domainAgentOptions({
        domainId: "domain-x",
        edges: on("edge-1", "edge-2"),
        federation,
        pollMs: 50,
        // Case 6's failpoint from the start (case 8 before it places nothing from domain-x): one restart fewer.
        env: failpoints("segment-after-commit=exit(137)"),
      }),
    ),
    startAgentProcess(domainAgentOptions({ domainId: "domain-y", edges: on("edge-3"), federation, pollMs: 50 })),
  ]);
  await Promise.all([x.setPeers([y]), y.setPeers([x])]);
  running.set(x, keyOf({ env: failpoints("segment-after-commit=exit(137)") }));
  running.set(y, keyOf(PLAIN));
  await peersUp();
  // The room check is meaningful: a fresh edge-3 has room for it.
  expect(await peerHasRoom()).toBe(true);
}, 60_000);

afterEach(async () => {
  const names = [...submitted];
  submitted.clear();
  for (const name of names) {
    const d = await deployment(x, name).catch(() => undefined);
    if (!d || stateOf(d) !== "READY") continue;
    const { client, call } = await api(x);
    await client.terminateIntent({ name }, call).catch(() => undefined);
    await settled(name).catch(() => undefined);
  }
});

afterAll(async () => {
  if (process.env["DUMP_LOGS"]) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync("/tmp/faults-x.log", (x?.allLogs() ?? []).map((l) => JSON.stringify(l)).join("\n"));
    writeFileSync("/tmp/faults-y.log", (y?.allLogs() ?? []).map((l) => JSON.stringify(l)).join("\n"));
  }
  await Promise.all([x, y].map((a) => a?.stop()));
  await Promise.all([...edges.values()].map((e) => e.stop()));
});

/** How each agent runs now: its failpoints and the peer's lease (a restart costs seconds: made only when needed). */
interface Setup {
  env: Record<string, string>;
  lease?: number;
}
const running = new Map<AgentProcess, string>();
const keyOf = (how: Setup) => JSON.stringify({ env: how.env, lease: how.lease ?? LEASE_SECONDS });

/** Restarts `agent` (after `signal`, running `whileDown` while it is down) as `how` says. */
async function restartAs(
  agent: AgentProcess,
  how: Setup,
  options: { signal?: NodeJS.Signals; whileDown?: () => Promise<void> } = {},
): Promise<void> {
  running.delete(agent);
  await agent.restart(options.whileDown, {
    env: how.env,
    federation: { segmentLeaseSeconds: how.lease ?? LEASE_SECONDS },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  running.set(agent, keyOf(how));
}

/** Each agent running as `how` says (restarted when it is not, or when it is not running), both seeing each other. */
async function ensure(setups: [AgentProcess, Setup][]): Promise<void> {
  await Promise.all(
    setups.map(async ([agent, how]) => {
      const alive = agent.child.exitCode === null && agent.child.signalCode === null;
      if (!alive || running.get(agent) !== keyOf(how)) await restartAs(agent, how);
    }),
  );
  await peersUp();
}

const PLAIN: Setup = { env: NO_FAILPOINTS };
/** The peer's own deployments stall before their first commit: a committed segment stays in flight there. */
const STALLED: Setup = { env: failpoints("deploy-before-commit=delay(60000)") };
/** The peer with a quota for domain-x in its trust list (the `env` marks it apart from PLAIN). */
const QUOTA: Setup = { env: { QUOTA: "1" } };

/**
 * The cases run in this order, each starting the agents with the failpoints it needs unless they run so
 * already: a case that kills an agent restarts it straight into the next case's setup.
 */
describe("faults across the segment boundary", () => {
  it("8. a repeated Commit of the same (id, generation) gets the same answer; an older generation is refused", async () => {
    await ensure([[y, PLAIN]]);
    // domain-y cannot reach domain-x meanwhile, so its reconciler keeps the segment it cannot ask about
    // (domain-x never proposed it): the calls below are the only ones made on it.
    await y.setPeers([x], () => ({ endpoint: "https://127.0.0.1:9" }));
    const trust = createFederationTrust({
      domainId: "domain-x",
      ownKeys: {
        current: () => ({ kid: x.key.kid, alg: x.key.alg, privateKey: x.key.privateKey }),
        published: () => ({ keys: [x.key.publicJwk] }),
      },
      peers: [{ id: "domain-y", jwks: { keys: [y.key.publicJwk] } as PublicJwks }],
    });
    const client = createClient(
      Federation,
      createGrpcTransport({
        baseUrl: y.federationUrl as string,
        nodeOptions: { ca: readFileSync(y.federationFiles?.caFile as string, "utf8") },
        interceptors: [federationClientAuth(trust, "domain-y")],
      }),
    );
    const segmentId = segmentOf("fault-8");
    try {
      const offer = await client.proposeSegment({
        segmentId,
        intent: "fault-8",
        revision: 2n,
        generation: 2n,
        packages: [{ name: "far", blueprint: "traffic-sink", replicas: 1, cpu: "8", memory: "64Mi" }],
      });
      expect(offer.namespace).toBe("fault-8-domain-x");
      expect(offer.generation).toBe(2n);
      expect(await peerHasRoom()).toBe(false);
      const first = (await client.commitSegment({ segmentId, generation: 2n })).segment;
      const again = (await client.commitSegment({ segmentId, generation: 2n })).segment;
      const key = (s: typeof first) => [s?.id, s?.generation, s?.namespace, s?.origin, s?.phase, s?.packages];
      expect(key(again)).toEqual(key(first));
      expect(key(first)).toEqual([segmentId, 2n, "fault-8-domain-x", "domain-x", "COMMITTED", ["far"]]);
      const stale = await client.commitSegment({ segmentId, generation: 1n }).then(
        () => undefined,
        (err: unknown) => err as ConnectError,
      );
      expect(stale?.code, String(stale)).toBe(Code.FailedPrecondition);
      expect(stale?.rawMessage).toMatch(/generation 1 is older/);
      // The peer runs it as a deployment of its own (once, for both commits), until the origin terminates it.
      const { client: yc, call } = await api(y);
      const runs = (await yc.listDeployments({}, call)).deployments.filter((d) => d.segmentId === segmentId);
      expect(runs.map((d) => d.intent)).toEqual(["fault-8-domain-x"]);
    } finally {
      const ended = (await client.terminateSegment({ segmentId })).segment;
      expect(ended?.phase).toBe("TERMINATED");
      await y.setPeers([x]);
    }
    await eventually(
      async () => (stateOf(await deployment(y, "fault-8-domain-x")) === "TERMINATED" ? true : undefined),
      () => "the peer's deployment of fault-8 to be terminated",
    );
    await eventually(
      async () => ((await segmentLists()).y.length === 0 ? true : undefined),
      () => "the peer's ListSegments to be empty",
    );
    await eventually(
      async () => ((await namespaces("edge-3")).includes("fault-8-domain-x") ? undefined : true),
      () => "namespace fault-8-domain-x to leave edge-3",
    );
    await eventually(
      async () => ((await peerHasRoom()) ? true : undefined),
      () => "domain-y to hold no room for fault-8",
    );
  }, 60_000);

  it("6. origin killed after Commit: its recovery rolls back and terminates the segment on the peer", async () => {
    await ensure([
      [x, { env: failpoints("segment-after-commit=exit(137)") }],
      [y, PLAIN],
    ]);
    await submit("fault-6");
    expect((await x.exited()).code).toBe(137);
    // The peer runs the segment the origin committed.
    expect(stateOf(await deployment(y, "fault-6-domain-x"))).not.toBe("absent");
    // Restarted into the next cases' failpoint (a commit decision delayed): recovery does not reach it.
    await restartAs(x, { env: failpoints("segment-before-commit=delay(4000)") });
    const d = await consistentAfterRollback("fault-6", /the agent restarted while the intent was/);
    expect(d.segments[0]?.phase).toBe("TERMINATED");
    expect(stateOf(await deployment(y, "fault-6-domain-x"))).toBe("TERMINATED");
  }, 60_000);

  it("3. peer killed after Propose, before Commit: the commit finds no reservation; the origin rolls back", async () => {
    await ensure([
      [x, { env: failpoints("segment-before-commit=delay(4000)") }],
      [y, PLAIN],
    ]);
    await submit("fault-3");
    await eventually(
      async () => ((await deployment(x, "fault-3"))?.segments[0]?.phase === "COMMITTING" ? true : undefined),
      () => "the origin to decide to commit fault-3",
    );
    // Meanwhile the peer holds the segment's room under its lease.
    expect(await peerHasRoom()).toBe(false);
    // Restarted with a lease of 1 s, for case 7.
    await restartAs(y, { env: NO_FAILPOINTS, lease: 1 }, { signal: "SIGKILL" });
    const d = await consistentAfterRollback("fault-3", /segment domain-x\.fault-3\.domain-y: domain-y CommitSegment/);
    expect(d.segments[0]?.phase).toBe("TERMINATED");
    expect(await deployment(y, "fault-3-domain-x")).toBeUndefined();
  }, 60_000);

  it("7. a lease lapsing before Commit (nothing renews it while committing): the commit is refused; the origin rolls back", async () => {
    await ensure([
      [x, { env: failpoints("segment-before-commit=delay(4000)") }],
      [y, { env: NO_FAILPOINTS, lease: 1 }],
    ]);
    await submit("fault-7");
    const d = await consistentAfterRollback(
      "fault-7",
      /segment domain-x\.fault-7\.domain-y: domain-y CommitSegment: segment domain-x\.fault-7\.domain-y generation 1: its lease has ended/,
    );
    expect(d.segments[0]?.phase).toBe("TERMINATED");
    expect(await deployment(y, "fault-7-domain-x")).toBeUndefined();
  }, 60_000);

  it("2. peer killed during Propose (after it reserved): the origin rolls back; the restarted peer holds nothing", async () => {
    await ensure([
      [x, PLAIN],
      [y, { env: failpoints("segment-propose=exit(137)") }],
    ]);
    await submit("fault-2");
    expect((await y.exited()).code).toBe(137);
    const d = await settled("fault-2");
    expect(stateOf(d), d.reason).toBe("ROLLED_BACK");
    expect(d.reason).toMatch(/domain-y ProposeSegment failed/);
    await restartAs(y, { env: failpoints("segment-commit=exit(137)") });
    await peersUp();
    await consistentAfterRollback("fault-2", /domain-y ProposeSegment failed/);
    expect(await deployment(y, "fault-2-domain-x")).toBeUndefined();
  }, 60_000);

  it("4. peer killed during Commit (after its ledger committed, before its deployment was journalled)", async () => {
    await ensure([
      [x, PLAIN],
      [y, { env: failpoints("segment-commit=exit(137)") }],
    ]);
    await submit("fault-4");
    expect((await y.exited()).code).toBe(137);
    const d = await settled("fault-4");
    expect(stateOf(d), d.reason).toBe("ROLLED_BACK");
    expect(d.reason).toMatch(/segment domain-x\.fault-4\.domain-y: domain-y CommitSegment failed/);
    // The peer's deployments stall before their first commit, for case 5 and 10.
    await restartAs(y, STALLED);
    await peersUp();
    await consistentAfterRollback("fault-4", /segment domain-x\.fault-4\.domain-y: domain-y CommitSegment failed/);
    expect(await deployment(y, "fault-4-domain-x")).toBeUndefined();
  }, 60_000);

  it("5, 10 and 1. peer killed after Commit: what the origin ended while it was down is ended when it is back; while it is down, an intent that needs it rolls back within its bound", async () => {
    await ensure([
      [x, PLAIN],
      [y, STALLED],
    ]);
    // fault-5 and fault-10 are committed; the peer's deployments of them are in flight (stalled).
    await submit("fault-5");
    await submit("fault-10", "10s");
    for (const name of ["fault-5", "fault-10"]) {
      await eventually(
        async () => ((await deployment(x, name))?.segments[0]?.phase === "COMMITTED" ? true : undefined),
        () => `the origin to commit ${name}`,
      );
      await eventually(
        async () => (SETTLED.has(stateOf(await deployment(y, `${name}-domain-x`))) ? undefined : true),
        () => `the peer to run ${name}, not settled`,
      );
    }
    // The quota of case 9, in the trust list; it applies from the restart below.
    await y.setPeers([x], () => ({ quota: { cpu: "100m", memory: "64Mi", segments: 1 } }));
    await restartAs(
      y,
      { env: NO_FAILPOINTS, lease: LEASE_SECONDS },
      {
        signal: "SIGKILL",
        whileDown: async () => {
          // 1. The peer is down before Propose: the run fails within the federation's call bound, not the
          // intent's timeout (300 s), and rolls back naming the peer.
          const start = Date.now();
          await submit("fault-1");
          const one = await settled("fault-1", 15_000);
          expect(Date.now() - start).toBeLessThan(10_000);
          expect(stateOf(one), one.reason).toBe("ROLLED_BACK");
          expect(one.reason).toMatch(/domain-y/);
          // 10. The origin rolls fault-10 back (its timeout) while the peer is down: the termination is not
          // confirmed, and the origin says so, in the intent's reason and its ListSegments.
          const ten = await settled("fault-10");
          expect(stateOf(ten), ten.reason).toBe("ROLLED_BACK");
          expect(ten.reason).toMatch(/segment domain-x\.fault-10\.domain-y: domain-y did not confirm the termination/);
          const { client, call } = await api(x);
          const open = (await client.listSegments({}, call)).segments.filter((s) => s.id === segmentOf("fault-10"));
          expect(open.map((s) => [s.id, s.role, s.reason])).toEqual([
            [segmentOf("fault-10"), "origin", expect.stringMatching(/not confirmed by domain-y/)],
          ]);
          // fault-5 waits for its segment, which the peer (down) cannot report.
          expect(SETTLED.has(stateOf(await deployment(x, "fault-5")))).toBe(false);
        },
      },
    );
    running.set(y, keyOf(QUOTA));
    // 5. The restarted peer's recovery rolls back its deployment of fault-5; the origin sees it and rolls back,
    // terminating the segment.
    const five = await consistentAfterRollback(
      "fault-5",
      /segment domain-x\.fault-5\.domain-y in domain-y is ROLLED_BACK/,
    );
    expect(five.segments[0]?.phase).toBe("TERMINATED");
    // 10. The peer had fault-10 committed in its journal; the origin's reconciler ended it there.
    const ten = await consistentAfterRollback("fault-10", /spec\.timeout 10s passed/);
    expect(ten.segments[0]?.phase).toBe("TERMINATED");
    for (const name of ["fault-5", "fault-10"])
      expect(stateOf(await deployment(y, `${name}-domain-x`))).toBe("TERMINATED");
    await peersUp();
    await consistentAfterRollback("fault-1", /domain-y/);
  }, 90_000);

  it("9. a proposal over the origin's quota is refused with the reason; nothing is left on the peer", async () => {
    if (running.get(y) !== keyOf(QUOTA)) {
      await ensure([[y, PLAIN]]);
      await y.setPeers([x], () => ({ quota: { cpu: "100m", memory: "64Mi", segments: 1 } }));
      await restartAs(y, PLAIN);
      running.set(y, keyOf(QUOTA));
    }
    await ensure([[x, PLAIN]]);
    await submit("fault-9");
    const d = await consistentAfterRollback(
      "fault-9",
      /domain-y ProposeSegment: segment domain-x\.fault-9\.domain-y would take domain-x to 8000m CPU \(quota 100m\)/,
    );
    expect(d.segments[0]?.phase).toBe("ABORTED");
    expect(await deployment(y, "fault-9-domain-x")).toBeUndefined();
  }, 60_000);
});
