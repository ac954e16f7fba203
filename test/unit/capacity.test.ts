/** An edge's capacity from nodes and pods, as the scheduler counts it, on nodes with uneven free room. */
import type { V1Container, V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { capacityFrom, capacityOf, PodRequests, podRequests } from "../../agent/edge/capacity.js";

const GI = 2 ** 30;
const MI = 2 ** 20;

const node = (name: string, cpu: string, memory: string, pods: string, ready = true): V1Node => ({
  metadata: { name },
  status: {
    allocatable: { cpu, memory, pods },
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
  },
});

const container = (requests?: Record<string, string>, limits?: Record<string, string>): V1Container => ({
  name: "c",
  resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) },
});

const pod = (
  name: string,
  nodeName: string | undefined,
  containers: V1Container[],
  extra: { phase?: string; init?: V1Container[]; labels?: Record<string, string> } = {},
): V1Pod => ({
  metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
  spec: { ...(nodeName ? { nodeName } : {}), containers, ...(extra.init ? { initContainers: extra.init } : {}) },
  status: { phase: extra.phase ?? "Running" },
});

describe("capacityOf", () => {
  const nodes = [
    node("big", "8", "16Gi", "110"),
    node("small", "2", "4Gi", "20"),
    node("lost", "4", "8Gi", "50", false),
  ];

  it("subtracts the requests of bound, unterminated pods from each node, and totals the Ready nodes", () => {
    const c = capacityOf(nodes, [
      pod("a", "big", [container({ cpu: "1500m", memory: "1Gi" }), container({ cpu: "500m", memory: "512Mi" })]),
      pod("b", "small", [container({ cpu: "1", memory: "3Gi" })]),
      pod("c", "lost", [container({ cpu: "1", memory: "1Gi" })]),
      pod("done", "big", [container({ cpu: "4", memory: "8Gi" })], { phase: "Succeeded" }),
      pod("failed", "small", [container({ cpu: "1" })], { phase: "Failed" }),
      pod("pending", undefined, [container({ cpu: "6" })], { phase: "Pending" }),
    ]);
    expect(c.nodes).toEqual([
      {
        name: "big",
        ready: true,
        allocatable: { cpuMillis: 8000, memoryBytes: 16 * GI, pods: 110 },
        requested: { cpuMillis: 2000, memoryBytes: 1536 * MI, pods: 1 },
        free: { cpuMillis: 6000, memoryBytes: 16 * GI - 1536 * MI, pods: 109 },
      },
      {
        name: "small",
        ready: true,
        allocatable: { cpuMillis: 2000, memoryBytes: 4 * GI, pods: 20 },
        requested: { cpuMillis: 1000, memoryBytes: 3 * GI, pods: 1 },
        free: { cpuMillis: 1000, memoryBytes: GI, pods: 19 },
      },
      {
        name: "lost",
        ready: false,
        allocatable: { cpuMillis: 4000, memoryBytes: 8 * GI, pods: 50 },
        requested: { cpuMillis: 1000, memoryBytes: GI, pods: 1 },
        free: { cpuMillis: 3000, memoryBytes: 7 * GI, pods: 49 },
      },
    ]);
    // The NotReady node counts in no total: nothing new lands there.
    expect(c.allocatable).toEqual({ cpuMillis: 10_000, memoryBytes: 20 * GI, pods: 130 });
    expect(c.requested).toEqual({ cpuMillis: 3000, memoryBytes: 4 * GI + 512 * MI, pods: 2 });
    expect(c.free).toEqual({ cpuMillis: 7000, memoryBytes: 16 * GI - 1536 * MI + GI, pods: 128 });
  });

  it("counts the larger of the containers' sum and the largest init container, and limits when nothing is requested", () => {
    expect(
      podRequests(
        pod("p", "big", [container({ cpu: "100m", memory: "64Mi" }), container({ cpu: "100m", memory: "64Mi" })], {
          init: [container({ cpu: "1", memory: "32Mi" }), container({ cpu: "300m", memory: "100Mi" })],
        }),
      ),
    ).toEqual({ cpuMillis: 1000, memoryBytes: 128 * MI, pods: 1 });
    expect(podRequests(pod("q", "big", [container(undefined, { cpu: "250m", memory: "1Gi" })]))).toEqual({
      cpuMillis: 250,
      memoryBytes: GI,
      pods: 1,
    });
    expect(podRequests(pod("r", "big", [container()]))).toEqual({ cpuMillis: 0, memoryBytes: 0, pods: 1 });
  });

  it("sums requests per CAMINO package from the pods' labels, and lets an overcommitted node go negative", () => {
    const labels = (intent: string, pkg: string) => ({ "camino.io/intent": intent, "camino.io/package": pkg });
    const c = capacityOf(nodes, [
      pod("w1", "small", [container({ cpu: "1500m", memory: "1Gi" })], { labels: labels("chain", "upf") }),
      pod("w2", "small", [container({ cpu: "1", memory: "1Gi" })], { labels: labels("chain", "upf") }),
      pod("w3", "big", [container({ cpu: "250m" })], { labels: labels("chain", "cache") }),
      pod("other", "big", [container({ cpu: "1" })], { labels: { "camino.io/intent": "chain" } }),
    ]);
    expect(new Map(c.byPackage.entries())).toEqual(
      new Map([
        ["chain/upf", { cpuMillis: 2500, memoryBytes: 2 * GI, pods: 2 }],
        ["chain/cache", { cpuMillis: 250, memoryBytes: 0, pods: 1 }],
      ]),
    );
    expect(c.nodes.find((n) => n.name === "small")?.free.cpuMillis).toBe(-500);
  });

  it("keeps each reading's requests per package as they were when it was made, as pods come and go after", () => {
    const labels = (pkg: string) => ({ "camino.io/intent": "chain", "camino.io/package": pkg });
    const sums = new PodRequests();
    sums.apply(pod("w1", "small", [container({ cpu: "1" })], { labels: labels("upf") }));
    const first = capacityFrom(nodes, sums);
    const again = capacityFrom(nodes, sums);
    sums.apply(pod("w2", "small", [container({ cpu: "1" })], { labels: labels("upf") }));
    sums.apply(pod("w1", "small", [container({ cpu: "1" })], { labels: labels("upf") }), true);
    sums.apply(pod("w3", "big", [container({ cpu: "500m" })], { labels: labels("cache") }));
    const later = capacityFrom(nodes, sums);
    sums.apply(pod("w3", "big", [container({ cpu: "500m" })], { labels: labels("cache") }), true);
    for (const c of [first, again])
      expect([...c.byPackage.entries()]).toEqual([["chain/upf", { cpuMillis: 1000, memoryBytes: 0, pods: 1 }]]);
    expect(first.byPackage.get("chain/cache")).toBeUndefined();
    expect(later.byPackage.get("chain/cache")).toEqual({ cpuMillis: 500, memoryBytes: 0, pods: 1 });
    expect([...later.byPackage.entries()]).toEqual([
      ["chain/upf", { cpuMillis: 1000, memoryBytes: 0, pods: 1 }],
      ["chain/cache", { cpuMillis: 500, memoryBytes: 0, pods: 1 }],
    ]);
    expect([...capacityFrom(nodes, sums).byPackage.entries()].map(([key]) => key)).toEqual(["chain/upf"]);
  });

  it("keeps what each of a hundred readings saw, held together while a package's pods come one by one", () => {
    const labels = { "camino.io/intent": "chain", "camino.io/package": "upf" };
    const sums = new PodRequests();
    const readings = [];
    for (let i = 0; i < 100; i++) {
      readings.push(capacityFrom(nodes, sums));
      sums.apply(pod(`w${i}`, "big", [container({ cpu: "10m" })], { labels }));
    }
    expect(readings.map((r) => r.byPackage.get("chain/upf")?.pods ?? 0)).toEqual(readings.map((_, i) => i));
    expect(capacityFrom(nodes, sums).byPackage.get("chain/upf")).toEqual({
      cpuMillis: 1000,
      memoryBytes: 0,
      pods: 100,
    });
  });

  it("is empty for an edge without nodes", () => {
    const { byPackage, ...rest } = capacityOf([], []);
    expect(rest).toEqual({
      nodes: [],
      allocatable: { cpuMillis: 0, memoryBytes: 0, pods: 0 },
      requested: { cpuMillis: 0, memoryBytes: 0, pods: 0 },
      free: { cpuMillis: 0, memoryBytes: 0, pods: 0 },
    });
    expect([...byPackage.entries()]).toEqual([]);
  });
});
