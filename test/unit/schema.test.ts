/** Object validation against the Kubernetes and Istio schemas, strict about unknown fields as the API server is. */
import { describe, expect, it } from "vitest";
import { validateObject } from "../../common/schema.js";

const deployment = (extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web", "example.com/team": "a" }, annotations: { note: "x" } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "nginx", resources: { limits: { cpu: "1" } }, ...container }] },
    },
    ...extra,
  },
});

describe("validateObject", () => {
  it("accepts a valid object, free-form maps included", () => {
    expect(validateObject(deployment())).toEqual([]);
  });

  it("names unknown fields wherever they are, as fieldValidation=Strict does", () => {
    expect(validateObject(deployment({ bogus: 1 }, { imagePullPolicyy: "Always" }))).toEqual([
      { path: "spec.bogus", message: 'unknown field "spec.bogus"' },
      {
        path: "spec.template.spec.containers[0].imagePullPolicyy",
        message: 'unknown field "spec.template.spec.containers[0].imagePullPolicyy"',
      },
    ]);
    expect(
      validateObject({
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "x" },
        spec: { hosts: ["a"], http: [{ timeout: "5s", routee: [] }] },
      }),
    ).toEqual([{ path: "spec.http[0].routee", message: 'unknown field "spec.http[0].routee"' }]);
  });

  it("reports type errors with their paths, and can be lenient about unknown fields", () => {
    expect(validateObject(deployment({ replicas: "three", extra: true }), false)).toEqual([
      { path: "spec.replicas", message: "must be integer" },
    ]);
  });

  it("refuses kinds it cannot check, and objects without a name", () => {
    expect(validateObject({ apiVersion: "v9", kind: "Widget", metadata: { name: "w" } })[0]?.message).toContain(
      "v9/Widget is not a kind CAMINO can validate",
    );
    expect(validateObject({ apiVersion: "v1", kind: "ConfigMap", metadata: {} })).toEqual([
      { path: "metadata.name", message: "is required" },
    ]);
  });
});
