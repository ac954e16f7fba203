/** The label join between a source's reading and its figures, on the in-memory cache. */
import { describe, expect, it } from "vitest";
import { emptyReading, figuresOf, type EdgeReading, type PodReading } from "../../agent/monitoring/edge-figures.js";
import { createMemoryLabelCache } from "../../agent/monitoring/label-cache.js";
import { joinLabels } from "../../agent/monitoring/label-join.js";

function pod(intent: string, pkg: string): PodReading {
  return {
    node: "n1",
    phase: "Running",
    ready: true,
    intent,
    package: pkg,
    domain: "",
    requests: { cpuCores: 0.1, memoryBytes: 64e6 },
    limits: { cpuCores: 0.1, memoryBytes: 64e6 },
  };
}
function reading(labelled: boolean): EdgeReading {
  const r = emptyReading();
  r.nodes.set("n1", { ready: true, cpuCores: 4, memoryBytes: 8e9 });
  r.pods.set("hot/sink-abc", labelled ? pod("hot", "sink") : pod("", ""));
  r.pods.set("kube-system/dns", pod("", ""));
  r.usage.set("hot/sink-abc", { cpuCores: 0.05, memoryBytes: 60e6 });
  return r;
}

describe("joinLabels", () => {
  it("remembers labelled pods and gives their labels to a later read that lacks them", async () => {
    const cache = createMemoryLabelCache();
    expect(await joinLabels("edge-1", reading(true), cache)).toEqual({ filled: 0, stored: 1 });
    // The next read has the pod's usage but not its kube_pod_labels series.
    const later = reading(false);
    expect(figuresOf("edge-1", "x", reading(false)).workloads).toEqual([]);
    expect(await joinLabels("edge-1", later, cache)).toEqual({ filled: 1, stored: 0 });
    const w = figuresOf("edge-1", "x", later).workloads;
    expect(w.map((x) => [x.intent, x.package, x.edge, x.used.memoryBytes])).toEqual([["hot", "sink", "edge-1", 60e6]]);
    // Another edge's pod of the same name is not this one.
    const elsewhere = reading(false);
    expect(await joinLabels("edge-2", elsewhere, cache)).toEqual({ filled: 0, stored: 0 });
  });
});
