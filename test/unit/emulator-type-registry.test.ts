/** The served types, looked up by plural and by kind, follow the CRDs added, replaced and removed. */
import { describe, expect, it } from "vitest";
import { TypeRegistry } from "../../emulator/type-registry.js";

const crd = (scope: "Namespaced" | "Cluster") => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope,
    names: { kind: "Widget", plural: "widgets" },
    versions: [{ name: "v1", served: true, storage: true }],
  },
});

describe("TypeRegistry", () => {
  it("finds built-in types by plural and by kind", () => {
    const types = new TypeRegistry();
    expect(types.find("apps", "v1", "deployments")?.kind).toBe("Deployment");
    expect(types.findKind("apps", "v1", "Deployment")?.plural).toBe("deployments");
    expect(types.findKind("", "v1", "Namespace")?.namespaced).toBe(false);
    expect(types.findKind("apps", "v2", "Deployment")).toBeUndefined();
  });

  it("serves a CRD's kind once added, as replaced, and no more once removed", () => {
    const types = new TypeRegistry();
    expect(types.findKind("example.com", "v1", "Widget")).toBeUndefined();
    types.addCrd(crd("Namespaced"));
    expect(types.findKind("example.com", "v1", "Widget")?.namespaced).toBe(true);
    types.addCrd(crd("Cluster"));
    expect(types.findKind("example.com", "v1", "Widget")?.namespaced).toBe(false);
    expect(types.find("example.com", "v1", "widgets")?.namespaced).toBe(false);
    types.removeCrd(crd("Cluster"));
    expect(types.findKind("example.com", "v1", "Widget")).toBeUndefined();
    expect(types.find("example.com", "v1", "widgets")).toBeUndefined();
  });
});
