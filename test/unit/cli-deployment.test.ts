/**
 * The deployment-lifecycle commands of the CLI: the pure formatting (event lines, tables, summaries, exit codes
 * of final states), the watch loop against an in-process DomainManager, and argument errors through main().
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport, type HandlerContext } from "@connectrpc/connect";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { DomainManager, type WatchDeploymentRequest } from "../../gen/camino/v1/domain_manager_pb.js";
import {
  DeploymentEventSchema,
  DeploymentSchema,
  DeploymentState,
  PlanSchema,
  type Deployment,
  type DeploymentEvent,
} from "../../gen/camino/v1/types_pb.js";
import { main } from "../../agent/cli/camino.js";
import {
  exitCodeForState,
  followDeployment,
  formatDeployment,
  formatDeploymentTable,
  formatSummary,
  parseSince,
  stateName,
  streamTimeout,
  watchFormat,
} from "../../agent/cli/commands/deployment.js";
import { formatElapsed, WatchProgress } from "../../agent/cli/watch-progress.js";
import { formatPlan } from "../../agent/cli/commands/intent.js";
import { connect } from "../../agent/cli/client.js";
import { UsageError } from "../../agent/cli/exit-codes.js";
import { parseIntentText } from "../../agent/intent/load.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing the terminal's colours is the point
const SGR = /\u001b\[\d+m/g;

/** A local wall-clock time, so the expected HH:MM:SS.mmm does not depend on the machine's time zone. */
const at = (h: number, m: number, s: number, ms: number) => timestampFromDate(new Date(2025, 0, 31, h, m, s, ms));

const event = (init: Partial<Omit<DeploymentEvent, "$typeName">>) =>
  create(DeploymentEventSchema, {
    deploymentId: "video-chain-r2",
    intent: "video-chain",
    revision: 2n,
    kind: "state",
    ...init,
  });

function fakeIO() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
      // Nothing listens on port 1: a command that wrongly got as far as calling fails fast (exit 5), never hangs.
      env: { CAMINO_SERVER: "http://127.0.0.1:1" },
    },
  };
}

describe("state names and exit codes", () => {
  it("names states without the DEPLOYMENT_STATE_ prefix", () => {
    expect(stateName(DeploymentState.PENDING)).toBe("PENDING");
    expect(stateName(DeploymentState.ROLLED_BACK)).toBe("ROLLED_BACK");
    expect(stateName(42 as DeploymentState)).toBe("STATE_42");
  });

  it("exits 0 for READY and TERMINATED, 8 for ROLLED_BACK, 9 for DEGRADED, 1 otherwise", () => {
    expect(exitCodeForState(DeploymentState.READY)).toBe(0);
    expect(exitCodeForState(DeploymentState.TERMINATED)).toBe(0);
    expect(exitCodeForState(DeploymentState.ROLLED_BACK)).toBe(8);
    expect(exitCodeForState(DeploymentState.DEGRADED)).toBe(9);
    expect(exitCodeForState(DeploymentState.FAILED)).toBe(1);
    expect(exitCodeForState(DeploymentState.COMMITTED)).toBe(1);
    expect(exitCodeForState(undefined)).toBe(1);
  });
});

describe("event lines", () => {
  it("shows local time with milliseconds, wave, package, state, edge, elapsed since the start, and reason", () => {
    const progress = new WatchProgress("video-chain");
    const start = event({ time: at(14, 2, 1, 845), state: DeploymentState.PENDING });
    progress.apply(start, timestampMs(at(14, 2, 1, 845)));
    progress.applyDeployment(
      create(DeploymentSchema, {
        id: "video-chain-r2",
        intent: "video-chain",
        packages: [{ package: "cnf2", wave: 2, edge: "edge-1" }],
      }),
    );
    const committed = event({
      time: at(14, 2, 3, 45),
      package: "cnf2",
      wave: 2,
      state: DeploymentState.COMMITTED,
      reason: "committed to edge-1",
    });
    progress.apply(committed, timestampMs(at(14, 2, 3, 50)));
    expect(progress.line(committed, timestampMs(at(14, 2, 3, 50)))).toBe(
      "14:02:03.045 wave 2 cnf2 COMMITTED edge-1 (1.2s) committed to edge-1",
    );
  });

  it("names the whole intent, has no edge for it, and no trailing blanks without a reason", () => {
    const progress = new WatchProgress("video-chain");
    const e = event({ time: at(9, 0, 0, 0), state: DeploymentState.PENDING });
    progress.apply(e, timestampMs(at(9, 0, 0, 0)));
    expect(progress.line(e, timestampMs(at(9, 0, 0, 0)))).toBe("09:00:00.000 intent video-chain PENDING - (0ms)");
  });

  it("turns every control character of a reason (newline, tab, escape, C1) into a space", () => {
    const progress = new WatchProgress("video-chain");
    const e = event({
      time: at(9, 0, 0, 0),
      package: "cnf1",
      wave: 1,
      state: DeploymentState.ROLLED_BACK,
      reason: "apply failed:\n\tbad\u001b[31m field\r\u009b",
    });
    progress.apply(e, timestampMs(at(9, 0, 0, 0)));
    const line = progress.line(e, timestampMs(at(9, 0, 0, 0)));
    expect(line).toBe("09:00:00.000 wave 1 cnf1 ROLLED_BACK - (0ms) apply failed:  bad [31m field");
    expect([...line].every((c) => c.charCodeAt(0) >= 0x20 && (c.charCodeAt(0) < 0x7f || c.charCodeAt(0) > 0x9f))).toBe(
      true,
    );
  });

  it("formats elapsed times for people", () => {
    expect([850, 1234, 125_000, 3_723_000].map(formatElapsed)).toEqual(["850ms", "1.2s", "2m05s", "1h02m"]);
  });

  it("summarises a READY deployment with its duration and a refused one with its reason", () => {
    const start = at(14, 2, 1, 0);
    expect(
      formatSummary(
        "video-chain",
        event({ time: at(14, 2, 3, 300), state: DeploymentState.READY }),
        timestampMs(start),
      ),
    ).toBe("video-chain: READY in 2.3 s");
    expect(
      formatSummary("video-chain", event({ state: DeploymentState.ROLLED_BACK, reason: "cnf2: dry run refused" })),
    ).toBe("video-chain: ROLLED_BACK: cnf2: dry run refused");
  });
});

describe("--since", () => {
  it("takes a duration back from now or an RFC 3339 time, and refuses anything else", () => {
    const now = Date.UTC(2025, 0, 31, 12, 0, 0);
    expect(timestampMs(parseSince("10m", now))).toBe(now - 600_000);
    expect(timestampDate(parseSince("2025-01-31T11:00:00.5+01:00", now)).toISOString()).toBe(
      "2025-01-31T10:00:00.500Z",
    );
    expect(() => parseSince("yesterday", now)).toThrow(UsageError);
    expect(() => parseSince("2025-01-31", now)).toThrow(/RFC 3339/);
  });
});

describe("deadlines", () => {
  it("gives the watch stream a deadline only when --timeout was given, unary calls always one", () => {
    const byDefault = connect({ server: "http://127.0.0.1:1" });
    expect(byDefault.callOptions.timeoutMs).toBe(10_000);
    expect(streamTimeout({}, byDefault)).toBeUndefined();
    const flags = { server: "http://127.0.0.1:1", timeout: "15m" };
    expect(streamTimeout(flags, connect(flags))).toBe(900_000);
  });
});

describe("intent ls table", () => {
  it("counts ready packages and cuts long reasons to about 60 characters", () => {
    const long = `edge-1 unreachable: ${"connection refused ".repeat(10)}`;
    const text = formatDeploymentTable([
      create(DeploymentSchema, {
        intent: "video-chain",
        revision: 3n,
        state: DeploymentState.DEGRADED,
        reason: long,
        packages: [
          { package: "cnf1", state: DeploymentState.READY },
          { package: "cnf2", state: DeploymentState.DEGRADED },
          { package: "cnf4", state: DeploymentState.READY },
        ],
        updatedAt: timestampFromDate(new Date(2025, 0, 31, 8, 5, 9)),
      }),
      create(DeploymentSchema, { intent: "paper-chain", revision: 1n, state: DeploymentState.READY }),
    ]);
    const [header, first, second] = text.trimEnd().split("\n") as [string, string, string];
    expect(header).toMatch(/^NAME +REVISION +STATE +PACKAGES +UPDATED +REASON$/);
    expect(first).toMatch(
      /^video-chain +3 +DEGRADED +2\/3 +2025-01-31 08:05:09 +edge-1 unreachable: connection refused/,
    );
    const reason = first.slice(header.indexOf("REASON"));
    expect(reason).toHaveLength(60);
    expect(reason.endsWith("…")).toBe(true);
    expect(second).toMatch(/^paper-chain +1 +READY +0\/0 +- +-$/);
  });
});

describe("intent get", () => {
  it("shows the deployment line, a row per package, and every admission reason", () => {
    const text = formatDeployment(
      create(DeploymentSchema, {
        id: "video-chain-r2",
        intent: "video-chain",
        revision: 2n,
        state: DeploymentState.ROLLED_BACK,
        reason: "admission refused",
        timeoutMs: 300_000n,
        packages: [
          { package: "cnf1", wave: 1, edge: "edge-1", state: DeploymentState.ROLLED_BACK, reason: "rolled back" },
          { package: "cnf3", wave: 2, domain: "domain-y", state: DeploymentState.PENDING },
        ],
        admission: [
          { package: "cnf1", edge: "edge-1", check: "resources", message: "needs 2 CPU, 1.5 free" },
          { package: "cnf1", edge: "edge-1", check: "prerequisite", message: "IngressClass nginx missing" },
        ],
      }),
    );
    const lines = text.split("\n");
    expect(lines[0]).toBe("deployment video-chain-r2 (intent video-chain, revision 2) ROLLED_BACK: admission refused");
    expect(lines[1]).toBe("timeout 5m");
    expect(text).toMatch(/\nPACKAGE +WAVE +EDGE +STATE +REASON\n/);
    expect(text).toMatch(/\ncnf1 +1 +edge-1 +ROLLED_BACK +rolled back\n/);
    expect(text).toMatch(/\ncnf3 +2 +domain domain-y +PENDING +-\n/);
    expect(text).toContain(
      "\nadmission refused:\n  cnf1@edge-1 [resources] needs 2 CPU, 1.5 free\n  cnf1@edge-1 [prerequisite] IngressClass nginx missing\n",
    );
  });

  it("shows where the run's time went, in all and per step", () => {
    const text = formatDeployment(
      create(DeploymentSchema, {
        id: "a-r1",
        intent: "a",
        revision: 1n,
        state: DeploymentState.READY,
        timing: {
          queueMs: 0,
          agentMs: 14.5,
          edgeMs: 230,
          steps: [
            { step: "admission", agentMs: 6.25, edgeMs: 12 },
            { step: "wave 1: synced", agentMs: 0.5, edgeMs: 218 },
          ],
        },
      }),
    );
    expect(text).toContain(
      "run time: agent 15 ms, edges and peers 230 ms, queue 0.0 ms\n  STEP            AGENT   EDGES AND PEERS\n  admission       6.3 ms  12 ms\n  wave 1: synced  0.5 ms  218 ms\n",
    );
  });

  it("prints no admission section for an admitted deployment", () => {
    expect(
      formatDeployment(
        create(DeploymentSchema, { id: "a-r1", intent: "a", revision: 1n, state: DeploymentState.READY }),
      ),
    ).not.toContain("admission");
  });
});

describe("intent plan table", () => {
  const intent = parseIntentText(`apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: video-chain}
spec:
  packages:
    - {name: cnf1, blueprint: nginx-ingress, placement: {edge: edge-1}}
    - {name: cnf2, blueprint: upf, after: [cnf1], placement: {edge: edge-2}}
`);

  it("has an ADMITTED column and lists the reasons of a refused plan", () => {
    const text = formatPlan(
      create(PlanSchema, {
        intent: "video-chain",
        order: ["cnf1", "cnf2"],
        waves: [
          { index: 1, packages: ["cnf1"] },
          { index: 2, packages: ["cnf2"] },
        ],
        packages: [
          { package: "cnf1", edge: "edge-1", repository: "edge-1-deploy", admitted: true },
          { package: "cnf2", edge: "edge-2", repository: "edge-2-deploy", admitted: false },
        ],
        admitted: false,
        admission: [{ package: "cnf2", edge: "edge-2", check: "schema", message: "spec.replicas: must be at most 3" }],
      }),
      intent,
    );
    expect(text).toMatch(/\nORDER +WAVE +PACKAGE +AFTER +PLACEMENT +REPOSITORY +FILES +ADMITTED\n/);
    expect(text).toMatch(/\n1 +1 +cnf1 +- +edge edge-1 +edge-1-deploy +0 +yes\n/);
    expect(text).toMatch(/\n2 +2 +cnf2 +cnf1 +edge edge-2 +edge-2-deploy +0 +no\n/);
    expect(text.endsWith("\nnot admitted:\n  cnf2@edge-2 [schema] spec.replicas: must be at most 3\n")).toBe(true);
  });

  it("prints no reasons for an admitted plan, and says so when a refused plan comes without any", () => {
    const admitted = formatPlan(
      create(PlanSchema, {
        intent: "video-chain",
        order: ["cnf1"],
        packages: [{ package: "cnf1", edge: "edge-1", admitted: true }],
        admitted: true,
      }),
      intent,
    );
    expect(admitted).not.toContain("not admitted");
    const bare = formatPlan(
      create(PlanSchema, { intent: "video-chain", order: ["cnf1"], packages: [{ package: "cnf1", edge: "edge-1" }] }),
      intent,
    );
    expect(bare.endsWith("\nnot admitted (the agent gave no reasons)\n")).toBe(true);
  });
  it("lists each link with its placement and the network objects each edge gets, and the link's note", () => {
    const text = formatPlan(
      create(PlanSchema, {
        intent: "video-chain",
        order: ["cnf1", "cnf2"],
        packages: [
          { package: "cnf1", edge: "edge-1", admitted: true },
          { package: "cnf2", edge: "edge-2", admitted: true },
        ],
        admitted: true,
        links: [
          {
            link: "cnf1-cnf2-8080",
            placement: "inter-edge",
            protocol: "grpc",
            port: 8080,
            meshed: true,
            edges: ["edge-1", "edge-2"],
          },
          {
            link: "cnf1-cnf2-8805",
            placement: "inter-edge",
            protocol: "udp",
            port: 8805,
            meshed: false,
            note: "not connected: udp cannot cross edges",
          },
        ],
        networkObjects: [
          { edge: "edge-1", link: "cnf1-cnf2-8080", kind: "ServiceEntry", name: "remote-cnf2-8080" },
          { edge: "edge-1", link: "cnf1-cnf2-8080", kind: "VirtualService", name: "cnf1-cnf2-8080" },
          { edge: "edge-2", link: "cnf1-cnf2-8080", kind: "AuthorizationPolicy", name: "cnf1-cnf2-8080" },
        ],
      }),
      intent,
    );
    expect(text).toMatch(/\nlinks \(3 network objects\):\nLINK +PLACEMENT +PROTOCOL +EDGE +OBJECTS\n/);
    expect(text).toMatch(/\ncnf1-cnf2-8080 +inter-edge +8080\/grpc +edge-1 +ServiceEntry,VirtualService\n/);
    expect(text).toMatch(/\ncnf1-cnf2-8080 +inter-edge +8080\/grpc +edge-2 +AuthorizationPolicy\n/);
    expect(text).toMatch(/\ncnf1-cnf2-8805 +inter-edge +8805\/udp +- +-\n/);
    expect(text).toContain("\n  cnf1-cnf2-8805: not connected: udp cannot cross edges\n");
  });
});

/** A DomainManager whose WatchDeployment runs `watch`; the other methods stay unimplemented. */
function watchClient(
  watch: (req: WatchDeploymentRequest, ctx: HandlerContext) => AsyncIterable<{ event: DeploymentEvent }>,
  deployment?: Deployment,
) {
  return createClient(
    DomainManager,
    createRouterTransport((router) =>
      router.service(DomainManager, {
        watchDeployment: watch,
        ...(deployment ? { getDeployment: () => ({ deployment }) } : {}),
      }),
    ),
  );
}

/** The deployment of the rollout below, as GetDeployment answers: two waves on edge-1. */
const placed = create(DeploymentSchema, {
  id: "video-chain-r2",
  intent: "video-chain",
  revision: 2n,
  createdAt: at(10, 0, 0, 0),
  packages: [
    { package: "cnf1", wave: 1, edge: "edge-1" },
    { package: "cnf2", wave: 2, edge: "edge-1" },
  ],
});

describe("following a deployment", () => {
  const rollout = [
    event({ time: at(10, 0, 0, 0), state: DeploymentState.PENDING }),
    event({
      time: at(10, 0, 0, 200),
      package: "cnf1",
      wave: 1,
      state: DeploymentState.COMMITTED,
      reason: "committed to edge-1",
    }),
    event({ time: at(10, 0, 1, 900), package: "cnf1", wave: 1, state: DeploymentState.READY }),
  ];

  it("prints one line per change with the edge from GetDeployment, exits 0 on READY with a summary on stderr, and sets no deadline on the stream", async () => {
    const seen: { name: string; since: number | undefined; timeoutMs: number | undefined }[] = [];
    const client = watchClient(async function* (req, ctx) {
      seen.push({ name: req.name, since: req.since && timestampMs(req.since), timeoutMs: ctx.timeoutMs() });
      for (const e of rollout) yield { event: e };
      // The same state again (a replayed snapshot) is no change: no line.
      yield { event: rollout[2] as DeploymentEvent };
      yield { event: event({ time: at(10, 0, 2, 300), state: DeploymentState.READY, reason: "every package ready" }) };
    }, placed);
    const { io, out } = fakeIO();
    const code = await followDeployment({
      client,
      name: "video-chain",
      since: timestampFromMs(1000),
      format: "lines",
      io,
      signal: new AbortController().signal,
    });
    expect(code).toBe(0);
    expect(seen).toEqual([{ name: "video-chain", since: 1000, timeoutMs: undefined }]);
    expect(out.stdout.split("\n")).toEqual([
      "10:00:00.000 intent video-chain PENDING - (0ms)",
      "10:00:00.200 wave 1 cnf1 COMMITTED edge-1 (200ms) committed to edge-1",
      "10:00:01.900 wave 1 cnf1 READY edge-1 (1.9s)",
      "10:00:02.300 intent video-chain READY - (2.3s) every package ready",
      "",
    ]);
    expect(out.stderr).toBe("video-chain: READY in 2.3 s\n");
  });

  it("exits 8 when the intent is rolled back, naming the reason", async () => {
    const client = watchClient(async function* () {
      yield { event: rollout[0] as DeploymentEvent };
      yield {
        event: event({
          time: at(10, 0, 3, 0),
          state: DeploymentState.ROLLED_BACK,
          reason: "cnf1 not available within 5m",
        }),
      };
    });
    const { io, out } = fakeIO();
    expect(
      await followDeployment({
        client,
        name: "video-chain",
        format: "lines",
        io,
        signal: new AbortController().signal,
      }),
    ).toBe(8);
    expect(out.stderr).toBe("video-chain: ROLLED_BACK: cnf1 not available within 5m\n");
  });

  it("exits 1 when the stream ends before the intent settles", async () => {
    const client = watchClient(async function* () {
      for (const e of rollout) yield { event: e };
    });
    const { io, out } = fakeIO();
    expect(
      await followDeployment({
        client,
        name: "video-chain",
        format: "lines",
        io,
        signal: new AbortController().signal,
      }),
    ).toBe(1);
    expect(out.stderr).toBe("video-chain: the watch ended before the deployment settled (last state PENDING)\n");
  });

  it("writes one DeploymentEvent JSON object per line and no summary in json mode", async () => {
    const client = watchClient(async function* () {
      yield { event: rollout[1] as DeploymentEvent };
      yield { event: event({ time: at(10, 0, 2, 0), state: DeploymentState.READY }) };
    });
    const { io, out } = fakeIO();
    expect(
      await followDeployment({ client, name: "video-chain", format: "json", io, signal: new AbortController().signal }),
    ).toBe(0);
    const objects = out.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects).toHaveLength(2);
    expect(objects[0]).toMatchObject({
      deploymentId: "video-chain-r2",
      package: "cnf1",
      wave: 1,
      state: "DEPLOYMENT_STATE_COMMITTED",
      reason: "committed to edge-1",
    });
    expect(objects[1]).toMatchObject({ package: "", state: "DEPLOYMENT_STATE_READY" });
    expect(out.stderr).toBe("");
  });

  it("stops on the signal (Ctrl-C) with exit 130 and says the deployment goes on", async () => {
    const client = watchClient(async function* (_req, ctx) {
      yield { event: rollout[0] as DeploymentEvent };
      // Hold the stream open until the client leaves.
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
    });
    const controller = new AbortController();
    const { io, out } = fakeIO();
    const quitOnFirstLine = { ...io, stdout: { write: (s: string) => (io.stdout.write(s), controller.abort()) } };
    expect(
      await followDeployment({
        client,
        name: "video-chain",
        format: "lines",
        io: quitOnFirstLine,
        signal: controller.signal,
      }),
    ).toBe(130);
    expect(out.stderr).toBe(
      "video-chain: stopped watching (interrupted); last state PENDING; the deployment goes on\n",
    );
  });

  it("puts a deadline on the stream only when one is given", async () => {
    let timeoutMs: number | undefined;
    const client = watchClient(async function* (_req, ctx) {
      timeoutMs = ctx.timeoutMs();
      yield { event: event({ state: DeploymentState.TERMINATED }) };
    });
    const { io } = fakeIO();
    expect(
      await followDeployment({
        client,
        name: "video-chain",
        format: "lines",
        io,
        signal: new AbortController().signal,
        timeoutMs: 60_000,
      }),
    ).toBe(0);
    expect(timeoutMs).toBeGreaterThan(50_000);
    expect(timeoutMs).toBeLessThanOrEqual(60_000);
  });

  it("from the current state on, prints it even though GetDeployment already told the same", async () => {
    const degraded = create(DeploymentSchema, {
      id: "video-chain-r2",
      intent: "video-chain",
      revision: 2n,
      createdAt: at(10, 0, 0, 0),
      state: DeploymentState.DEGRADED,
      reason: "1 of 2 packages DEGRADED",
      packages: [
        { package: "cnf1", wave: 1, edge: "edge-1", state: DeploymentState.READY },
        { package: "cnf2", wave: 2, edge: "edge-1", state: DeploymentState.DEGRADED, reason: "cnf2 lost" },
      ],
    });
    const client = watchClient(async function* () {
      // The agent's snapshot: the intent, then each package as it stands.
      yield {
        event: event({ time: at(10, 0, 9, 0), state: DeploymentState.DEGRADED, reason: "1 of 2 packages DEGRADED" }),
      };
      yield { event: event({ time: at(10, 0, 2, 0), package: "cnf1", wave: 1, state: DeploymentState.READY }) };
      yield {
        event: event({
          time: at(10, 0, 9, 0),
          package: "cnf2",
          wave: 2,
          state: DeploymentState.DEGRADED,
          reason: "cnf2 lost",
        }),
      };
    }, degraded);
    const { io, out } = fakeIO();
    expect(
      await followDeployment({
        client,
        name: "video-chain",
        format: "lines",
        io,
        signal: new AbortController().signal,
      }),
    ).toBe(9);
    expect(out.stdout.split("\n").map((l) => l.replace(/^\S+ /, ""))).toEqual([
      "intent video-chain DEGRADED - (9.0s) 1 of 2 packages DEGRADED",
      "wave 1 cnf1 READY edge-1 (2.0s)",
      "wave 2 cnf2 DEGRADED edge-1 (9.0s) cnf2 lost",
      "",
    ]);
  });

  it("exits 9 when the watch ends with the intent DEGRADED", async () => {
    const client = watchClient(async function* () {
      yield {
        event: event({
          time: at(10, 0, 9, 0),
          state: DeploymentState.DEGRADED,
          reason: "cnf1: Deployment/cnf1 0/1 available on edge-1",
        }),
      };
    });
    const { io, out } = fakeIO();
    expect(
      await followDeployment({
        client,
        name: "video-chain",
        format: "lines",
        io,
        signal: new AbortController().signal,
      }),
    ).toBe(9);
    expect(out.stderr).toBe("video-chain: DEGRADED: cnf1: Deployment/cnf1 0/1 available on edge-1\n");
  });

  it("ends a following watch stopped by --timeout with the code of the state last seen", async () => {
    const client = watchClient(async function* (_req, ctx) {
      yield { event: event({ time: at(10, 0, 9, 0), state: DeploymentState.DEGRADED, reason: "cnf1 lost" }) };
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
    });
    const { io, out } = fakeIO();
    const code = await followDeployment({
      client,
      name: "video-chain",
      format: "lines",
      io,
      signal: new AbortController().signal,
      follow: true,
      timeoutMs: 200,
    });
    expect(code).toBe(9);
    expect(out.stderr).toBe("video-chain: stopped following; last state DEGRADED\n");
  });

  it("writes one YAML document per event with -o yaml", async () => {
    const client = watchClient(async function* () {
      yield { event: rollout[1] as DeploymentEvent };
      yield { event: event({ time: at(10, 0, 2, 0), state: DeploymentState.READY }) };
    });
    const { io, out } = fakeIO();
    expect(
      await followDeployment({ client, name: "video-chain", format: "yaml", io, signal: new AbortController().signal }),
    ).toBe(0);
    const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as Record<string, unknown>);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatchObject({ package: "cnf1", state: "DEPLOYMENT_STATE_COMMITTED", wave: 1 });
    expect(docs[1]).toMatchObject({ package: "", state: "DEPLOYMENT_STATE_READY" });
  });

  it("on a terminal, redraws the intent's line and a table grouped by wave in place, and ends on the final table", async () => {
    let now = timestampMs(at(10, 0, 0, 0));
    const client = watchClient(async function* () {
      for (const e of rollout) {
        now = timestampMs(e.time as Timestamp);
        yield { event: e };
      }
      now = timestampMs(at(10, 0, 3, 0));
      yield { event: event({ time: at(10, 0, 2, 800), package: "cnf2", wave: 2, state: DeploymentState.READY }) };
      yield { event: event({ time: at(10, 0, 3, 0), state: DeploymentState.READY, reason: "every package ready" }) };
    }, placed);
    const { io, out } = fakeIO();
    const code = await followDeployment({
      client,
      name: "video-chain",
      format: "live",
      screen: { columns: 60, colour: true },
      io,
      signal: new AbortController().signal,
      now: () => now,
    });
    expect(code).toBe(0);
    // Every redraw goes back up over the frame before (5 lines: intent, wave 1, cnf1, wave 2, cnf2).
    expect(out.stdout).toContain("\u001b[5F");
    const frames = out.stdout.split("\u001b[J");
    const last = (frames[frames.length - 2] as string).split("\u001b[5F").pop() as string;
    // Without the line clears and colours: what the terminal shows.
    const screen = last.split("\u001b[2K").join("").replace(SGR, "");
    expect(screen.split("\n")).toEqual([
      // Cut to the terminal's 60 columns: a wrapped line would break the redraw.
      "intent video-chain revision 2  READY  3.0s  every package r…",
      "wave 1  1/1 ready",
      "  cnf1  READY  edge-1     1.9s",
      "wave 2  1/1 ready",
      "  cnf2  READY  edge-1     2.8s",
      "",
    ]);
    expect(last).toContain("\u001b[32mREADY\u001b[0m");
    expect(out.stderr).toBe("video-chain: READY in 3.0 s\n");
  });

  it("draws live only on a terminal, and never with --no-tty, CAMINO_NO_TTY or TERM=dumb", () => {
    const tty = { write: () => true, isTTY: true, columns: 132 };
    const pipe = { write: () => true };
    expect(watchFormat("text", undefined, { stdout: tty, env: {} })).toEqual({
      format: "live",
      screen: { columns: 132, colour: true },
    });
    expect(watchFormat("text", undefined, { stdout: tty, env: { NO_COLOR: "1" } }).screen?.colour).toBe(false);
    expect(watchFormat("text", undefined, { stdout: pipe, env: {} }).format).toBe("lines");
    expect(watchFormat("text", true, { stdout: tty, env: {} }).format).toBe("lines");
    expect(watchFormat("text", undefined, { stdout: tty, env: { CAMINO_NO_TTY: "1" } }).format).toBe("lines");
    expect(watchFormat("text", undefined, { stdout: tty, env: { TERM: "dumb" } }).format).toBe("lines");
    expect(watchFormat("json", undefined, { stdout: tty, env: {} }).format).toBe("json");
  });

  it("passes other call failures on (an agent without the method yet)", async () => {
    const client = createClient(
      DomainManager,
      createRouterTransport((router) => router.service(DomainManager, {})),
    );
    const { io } = fakeIO();
    const err = await followDeployment({
      client,
      name: "video-chain",
      format: "lines",
      io,
      signal: new AbortController().signal,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unimplemented);
  });
});

describe("argument errors, before any call", () => {
  const dir = mkdtempSync(join(tmpdir(), "camino-cli-deployment-"));
  const badIntent = join(dir, "bad.yaml");
  writeFileSync(
    badIntent,
    `apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: video-chain}
spec:
  packages:
    - {name: cnf1, blueprint: nginx-ingress, replicas: -1, placement: {edge: edge-1}}
`,
  );

  async function run(...argv: string[]) {
    const { io, out } = fakeIO();
    const code = await main(argv, io);
    return { code, ...out };
  }

  it("needs exactly one FILE or NAME (exit 2)", async () => {
    for (const argv of [
      ["intent", "submit"],
      ["intent", "submit", "a.yaml", "b.yaml"],
      ["intent", "watch"],
      ["intent", "get"],
      ["intent", "terminate"],
    ]) {
      const res = await run(...argv);
      expect(res.code, argv.join(" ")).toBe(2);
      expect(res.stderr, argv.join(" ")).toMatch(/give exactly one intent (FILE|NAME)/);
    }
    expect((await run("intent", "ls", "video-chain")).code).toBe(2);
  });

  it("refuses an output format the command does not have (exit 2), naming the flag and the formats", async () => {
    const submit = await run("intent", "submit", badIntent, "-o", "table");
    expect(submit.code).toBe(2);
    expect(submit.stderr).toBe('camino intent submit: -o must be text, json or yaml (is "table") (see --help)\n');
    expect((await run("intent", "watch", "video-chain", "-o", "table")).code).toBe(2);
    const get = await run("intent", "get", "video-chain", "-o", "text");
    expect(get.code).toBe(2);
    expect(get.stderr).toContain("-o must be table, json or yaml");
    expect((await run("intent", "ls", "--output", "wide")).code).toBe(2);
  });

  it("refuses a --since that is neither a duration nor a time (exit 2)", async () => {
    const res = await run("intent", "watch", "video-chain", "--since", "last tuesday");
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--since "last tuesday" is neither a duration');
  });

  it("reports an unreadable file (exit 3)", async () => {
    const res = await run("intent", "submit", join(dir, "missing.yaml"));
    expect(res.code).toBe(3);
    expect(res.stderr).toBe(`camino intent submit: cannot read ${join(dir, "missing.yaml")} (ENOENT)\n`);
  });

  it("reports an invalid intent with its field path (exit 3)", async () => {
    const res = await run("intent", "submit", badIntent, "--watch");
    expect(res.code).toBe(3);
    expect(res.stderr).toContain("spec.packages[0].replicas");
    expect(res.stdout).toBe("");
  });

  it("lists the intent subcommands and prints help naming the scope", async () => {
    expect((await run("intent")).stderr).toContain("give a subcommand: plan, submit, watch, get, ls, terminate");
    for (const [sub, scope] of [
      ["submit", "intents:write"],
      ["terminate", "intents:write"],
      ["watch", "intents:read"],
      ["get", "intents:read"],
      ["ls", "intents:read"],
    ] as const) {
      const res = await run("intent", sub, "--help");
      expect(res.code, sub).toBe(0);
      expect(res.stdout, sub).toMatch(new RegExp(`^Usage: camino intent ${sub} `));
      expect(res.stdout, sub).toContain(`scope ${scope}`);
    }
  });
});
