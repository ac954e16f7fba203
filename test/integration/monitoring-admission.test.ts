/**
 * The plan says where admission's free capacity came from: a real planner (in-process domain: git repositories,
 * emulated edges) over a CapacityBook reading monitoring's headroom. With monitoring answering, a package that
 * fits the Kubernetes figures but not monitoring's headroom is refused and the plan names "monitoring"; with the
 * source down, fallback "kubernetes" admits it and says so, fallback "refuse" refuses every package saying why.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MonitoringConfig } from "../../agent/config/monitoring-section.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { admissionCapacity } from "../../agent/monitoring/admission-capacity.js";
import type { MonitoringStatus } from "../../agent/monitoring/monitoring-service.js";
import type { MonitoringSnapshot } from "../../agent/monitoring/snapshot.js";
import { deployableEdges, planIntent } from "../../agent/orchestration/planner.js";
import { CapacityBook } from "../../agent/orchestration/reservations.js";
import { startInProcessDomain, type InProcessDomain } from "../helpers/in-process-domain.js";

let domain: InProcessDomain;
beforeAll(async () => {
  domain = await startInProcessDomain();
}, 60_000);
afterAll(async () => {
  await domain?.close();
});

const intent = (cpu: string) =>
  validateIntent({
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name: "busy" },
    spec: {
      packages: [
        {
          name: "sink",
          blueprint: "traffic-sink",
          replicas: 1,
          resources: { cpu, memory: "32Mi" },
          placement: { edge: "edge-1" },
        },
      ],
    },
  });

/** Monitoring as admission reads it: edge-1 measured nearly full (only 100m of CPU headroom). */
function monitoring(healthy: boolean) {
  const snapshot: MonitoringSnapshot = {
    at: new Date(),
    source: "prometheus",
    edges: ["edge-1", "edge-2"].map((edge) => ({
      edge,
      reachable: true,
      allocatable: { cpuMillis: 8000, memoryBytes: 16 * 2 ** 30 },
      requested: { cpuMillis: 1000, memoryBytes: 2 ** 30 },
      used: { cpuMillis: 7900, memoryBytes: 2 ** 30 },
      free: { cpuMillis: 7000, memoryBytes: 15 * 2 ** 30 },
      headroom: { cpuMillis: 100, memoryBytes: 15 * 2 ** 30 },
    })),
    workloads: [],
    links: [],
  };
  const status: MonitoringStatus = healthy
    ? { source: "prometheus", healthy: true, message: "ok" }
    : { source: "prometheus", healthy: false, message: "http://prom:9090 cannot be reached: fetch failed" };
  return { latest: () => snapshot, status: () => status };
}

const plan = async (cpu: string, healthy: boolean, admission: Partial<MonitoringConfig["admission"]>) => {
  const book = new CapacityBook(
    () => deployableEdges(domain.planner),
    admissionCapacity({
      config: { capacity: "monitoring", fallback: "kubernetes", maxAgeMs: 60_000, ...admission },
      monitoring: monitoring(healthy),
    }),
  );
  return planIntent(intent(cpu), { ...domain.planner, book });
};

describe("admission on monitoring", () => {
  it("refuses what monitoring's headroom cannot take, and the plan names its source", async () => {
    const refused = await plan("500m", true, {});
    expect(refused.capacitySource).toBe("monitoring");
    expect(refused.admitted).toBe(false);
    expect(refused.admission[0]?.message).toMatch(/needs 500m CPU.*edge-1 has 100m CPU/);
    const fits = await plan("50m", true, {});
    expect([fits.admitted, fits.capacitySource]).toEqual([true, "monitoring"]);
    // The same package on the Kubernetes figures fits.
    expect((await plan("500m", true, { capacity: "kubernetes" })).admitted).toBe(true);
  });

  it("with the source down, follows the fallback and says so", async () => {
    const k = await plan("500m", false, { fallback: "kubernetes" });
    expect(k.admitted, JSON.stringify(k.admission)).toBe(true);
    expect(k.capacitySource).toMatch(/^kubernetes \(fallback from monitoring: the metrics source is unavailable: /);
    const r = await plan("50m", false, { fallback: "refuse" });
    expect(r.admitted).toBe(false);
    expect(r.capacitySource).toMatch(/^none \(monitoring refused: /);
    expect(r.admission[0]?.message).toMatch(/admission needs monitoring, and the metrics source is unavailable/);
  });
});
