/**
 * Drift's field comparison (agent/orchestration/drift-fields.ts), as `kubectl diff` compares: the dry run of the
 * repository's file against the live object, without the fields the server manages.
 */
import { describe, expect, it } from "vitest";
import { driftFields } from "../../agent/orchestration/drift-fields.js";

const deployment = (over: { replicas?: number; image?: string; meta?: Record<string, unknown>; status?: unknown }) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "shop", labels: { app: "web" }, ...over.meta },
  spec: {
    replicas: over.replicas ?? 1,
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
    template: {
      spec: {
        containers: [
          { name: "app", image: over.image ?? "nginx:1.27", ports: [{ containerPort: 80, protocol: "TCP" }] },
          { name: "sidecar", image: "envoy:1" },
        ],
      },
    },
  },
  ...(over.status ? { status: over.status } : {}),
});

describe("driftFields", () => {
  it("finds nothing when only the fields the server manages differ", () => {
    const live = deployment({
      meta: {
        uid: "u-1",
        resourceVersion: "42",
        generation: 3,
        creationTimestamp: "2026-01-01T00:00:00Z",
        managedFields: [{ manager: "configsync.gke.io" }],
      },
      status: { availableReplicas: 1 },
    });
    expect(driftFields(deployment({ meta: { uid: "u-2", generation: 4 } }), live)).toEqual([]);
  });

  it("names a changed scalar and a container's field by the container's name", () => {
    expect(driftFields(deployment({}), deployment({ replicas: 3, image: "nginx:1.28" }))).toEqual([
      { path: "spec.replicas", want: "1", have: "3" },
      { path: "spec.template.spec.containers[name=app].image", want: '"nginx:1.27"', have: '"nginx:1.28"' },
    ]);
  });

  it("shows a field only one side has with the other side empty, and label keys that are not identifiers quoted", () => {
    const live = deployment({ meta: { labels: { app: "web", "team.example/owner": "ops" } } });
    expect(driftFields(deployment({}), live)).toEqual([
      { path: 'metadata.labels["team.example/owner"]', want: "", have: '"ops"' },
    ]);
    const want = deployment({});
    const have = deployment({});
    delete (have.spec as Record<string, unknown>)["strategy"];
    expect(driftFields(want, have)).toEqual([
      {
        path: "spec.strategy",
        want: '{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}}',
        have: "",
      },
    ]);
  });

  it("matches named entries whatever their order, and compares unnamed lists of another length as a whole", () => {
    const have = deployment({});
    have.spec.template.spec.containers.reverse();
    expect(driftFields(deployment({}), have)).toEqual([]);
    const removed = deployment({});
    removed.spec.template.spec.containers.pop();
    expect(driftFields(deployment({}), removed)).toEqual([
      { path: "spec.template.spec.containers[name=sidecar]", want: '{"name":"sidecar","image":"envoy:1"}', have: "" },
    ]);
    expect(driftFields({ spec: { args: ["-s", "-p"] } }, { spec: { args: ["-s"] } })).toEqual([
      { path: "spec.args", want: '["-s","-p"]', have: '["-s"]' },
    ]);
  });
});
