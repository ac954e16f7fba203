/** Server-side apply: an ownership and conflict table (managedFields, conflicts, pruning) and the field-set algebra. */
import { describe, expect, it } from "vitest";
import {
  differenceFieldSets,
  fieldSetFromFieldsV1,
  fieldSetOf,
  fieldSetPaths,
  fieldSetToFieldsV1,
  formatFieldPath,
  intersectFieldSets,
  unionFieldSets,
} from "../../emulator/apply/field-set.js";
import { recordUpdate, serverSideApply } from "../../emulator/apply/server-side-apply.js";
import type { ApplyResult } from "../../emulator/apply/server-side-apply.js";

type Obj = Record<string, unknown>;

const T1 = "2026-01-01T00:00:01Z";
const T2 = "2026-01-01T00:00:02Z";
const T3 = "2026-01-01T00:00:03Z";
const T4 = "2026-01-01T00:00:04Z";

const WEB = 'k:{"name":"web"}';
const SIDECAR = 'k:{"name":"sidecar"}';

/** A Deployment "web" with the given spec and extra metadata. */
function dep(spec: Obj | undefined, metadata: Obj = {}): Obj {
  const out: Obj = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", ...metadata },
  };
  if (spec !== undefined) out["spec"] = spec;
  return out;
}

/** A pod template spec with these containers. */
function containers(...list: Obj[]): Obj {
  return { template: { spec: { containers: list } } };
}

/** A managedFields entry. */
function entry(
  manager: string,
  operation: "Apply" | "Update",
  time: string,
  fieldsV1: Obj,
  apiVersion = "apps/v1",
): Obj {
  return { manager, operation, apiVersion, time, fieldsType: "FieldsV1", fieldsV1 };
}

/** `object` with these managedFields. */
function owned(object: Obj, ...entries: Obj[]): Obj {
  const metadata = object["metadata"] as Obj;
  return { ...object, metadata: { ...metadata, managedFields: entries } };
}

function apply(live: Obj | undefined, applied: Obj, manager: string, now: string, force = false): ApplyResult {
  return serverSideApply(live, applied, { manager, force, now, kind: "Deployment", builtin: true });
}

/** Apply that must not conflict; returns the object. */
function ok(live: Obj | undefined, applied: Obj, manager: string, now: string, force = false): Obj {
  const result = apply(live, applied, manager, now, force);
  expect(result.conflicts).toEqual([]);
  return result.object;
}

function update(previous: Obj | undefined, next: Obj, manager: string, now: string): Obj {
  return recordUpdate(previous, next, { manager, now, kind: "Deployment", builtin: true, operation: "Update" });
}

/** A copy of `object` with `spec.replicas` set (managedFields kept, as a controller writes back what it read). */
function scaled(object: Obj, replicas: number): Obj {
  return { ...object, spec: { ...(object["spec"] as Obj), replicas } };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

// Alice's first configuration and what it owns.
const ALICE_V1 = dep({ replicas: 2, ...containers({ name: "web", image: "nginx:1" }) }, { labels: { app: "web" } });
const ALICE_V1_FIELDS = {
  "f:metadata": { "f:labels": { "f:app": {} } },
  "f:spec": {
    "f:replicas": {},
    "f:template": { "f:spec": { "f:containers": { [WEB]: { ".": {}, "f:image": {}, "f:name": {} } } } },
  },
};
const CREATED = owned(ALICE_V1, entry("alice", "Apply", T1, ALICE_V1_FIELDS));

interface Case {
  name: string;
  actual: () => unknown;
  expected: unknown;
}

const cases: Case[] = [
  {
    name: "create: the applied object is stored and owned by the applier",
    actual: () => apply(undefined, ALICE_V1, "alice", T1),
    expected: { object: CREATED, conflicts: [] },
  },
  {
    name: "re-apply of the same configuration changes nothing (time kept)",
    actual: () => apply(ok(undefined, ALICE_V1, "alice", T1), ALICE_V1, "alice", T2),
    expected: { object: CREATED, conflicts: [] },
  },
  {
    name: "two managers with disjoint fields both persist",
    actual: () => apply(CREATED, dep(undefined, { annotations: { owner: "bob" } }), "bob", T2),
    expected: {
      object: owned(
        dep(ALICE_V1["spec"] as Obj, { labels: { app: "web" }, annotations: { owner: "bob" } }),
        entry("alice", "Apply", T1, ALICE_V1_FIELDS),
        entry("bob", "Apply", T2, { "f:metadata": { "f:annotations": { "f:owner": {} } } }),
      ),
      conflicts: [],
    },
  },
  {
    name: "a different value for fields another manager owns conflicts without force; the live object is returned unchanged",
    actual: () => apply(CREATED, dep({ replicas: 3, ...containers({ name: "web", image: "nginx:2" }) }), "bob", T2),
    expected: {
      object: CREATED,
      conflicts: [
        { manager: "alice", field: ".spec.replicas" },
        { manager: "alice", field: '.spec.template.spec.containers[name="web"].image' },
      ],
    },
  },
  {
    name: "force moves ownership of the conflicting field to the applier",
    actual: () => apply(CREATED, dep({ replicas: 3 }), "bob", T2, true),
    expected: {
      object: owned(
        dep({ replicas: 3, ...containers({ name: "web", image: "nginx:1" }) }, { labels: { app: "web" } }),
        entry("alice", "Apply", T1, {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:template": { "f:spec": { "f:containers": { [WEB]: { ".": {}, "f:image": {}, "f:name": {} } } } },
          },
        }),
        entry("bob", "Apply", T2, { "f:spec": { "f:replicas": {} } }),
      ),
      conflicts: [],
    },
  },
  {
    name: "the same value is shared: both own it, no conflict",
    actual: () => apply(CREATED, dep({ replicas: 2 }), "bob", T2),
    expected: {
      object: owned(
        ALICE_V1,
        entry("alice", "Apply", T1, ALICE_V1_FIELDS),
        entry("bob", "Apply", T2, { "f:spec": { "f:replicas": {} } }),
      ),
      conflicts: [],
    },
  },
  {
    name: "a field dropped from the configuration is removed when solely owned (an emptied map goes too)",
    actual: () => {
      const v1 = ok(undefined, dep({ replicas: 2 }, { labels: { app: "web", tier: "front" } }), "alice", T1);
      const v2 = ok(v1, dep({ replicas: 2 }, { labels: { app: "web" } }), "alice", T2);
      const v3 = ok(v2, dep({ replicas: 2 }), "alice", T3);
      return [v2, v3];
    },
    expected: [
      owned(
        dep({ replicas: 2 }, { labels: { app: "web" } }),
        entry("alice", "Apply", T2, { "f:metadata": { "f:labels": { "f:app": {} } }, "f:spec": { "f:replicas": {} } }),
      ),
      owned(dep({ replicas: 2 }), entry("alice", "Apply", T3, { "f:spec": { "f:replicas": {} } })),
    ],
  },
  {
    name: "a field dropped from the configuration but shared stays; only the ownership goes",
    actual: () => {
      const shared = ok(CREATED, dep({ replicas: 2 }), "bob", T2);
      return apply(shared, dep(containers({ name: "web", image: "nginx:1" }), { labels: { app: "web" } }), "alice", T3);
    },
    expected: {
      object: owned(
        ALICE_V1,
        entry("alice", "Apply", T1, {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:template": { "f:spec": { "f:containers": { [WEB]: { ".": {}, "f:image": {}, "f:name": {} } } } },
          },
        }),
        entry("bob", "Apply", T2, { "f:spec": { "f:replicas": {} } }),
      ),
      conflicts: [],
    },
  },
  {
    name: "associative list items are owned per item; another manager's item merges in by key",
    actual: () => apply(CREATED, dep(containers({ name: "sidecar", image: "envoy:1" })), "bob", T2),
    expected: {
      object: owned(
        dep(
          { replicas: 2, ...containers({ name: "web", image: "nginx:1" }, { name: "sidecar", image: "envoy:1" }) },
          { labels: { app: "web" } },
        ),
        entry("alice", "Apply", T1, ALICE_V1_FIELDS),
        entry("bob", "Apply", T2, {
          "f:spec": {
            "f:template": { "f:spec": { "f:containers": { [SIDECAR]: { ".": {}, "f:image": {}, "f:name": {} } } } },
          },
        }),
      ),
      conflicts: [],
    },
  },
  {
    name: "changing another manager's container item conflicts on that item's field only",
    actual: () => {
      const both = ok(CREATED, dep(containers({ name: "sidecar", image: "envoy:1" })), "bob", T2);
      return apply(
        both,
        dep(containers({ name: "sidecar", image: "envoy:1" }, { name: "web", image: "nginx:2" })),
        "bob",
        T3,
      ).conflicts;
    },
    expected: [{ manager: "alice", field: '.spec.template.spec.containers[name="web"].image' }],
  },
  {
    name: "an Update (kube-controller-manager scaling) takes replicas from the applier",
    actual: () => update(CREATED, scaled(CREATED, 5), "kube-controller-manager", T2),
    expected: owned(
      scaled(ALICE_V1, 5),
      entry("alice", "Apply", T1, {
        "f:metadata": { "f:labels": { "f:app": {} } },
        "f:spec": {
          "f:template": { "f:spec": { "f:containers": { [WEB]: { ".": {}, "f:image": {}, "f:name": {} } } } },
        },
      }),
      entry("kube-controller-manager", "Update", T2, { "f:spec": { "f:replicas": {} } }),
    ),
  },
  {
    name: "re-applying replicas after the controller scaled conflicts with it; with force the controller's entry goes",
    actual: () => {
      const live = update(CREATED, scaled(CREATED, 5), "kube-controller-manager", T2);
      return [apply(live, ALICE_V1, "alice", T3), apply(live, ALICE_V1, "alice", T3, true)];
    },
    expected: [
      {
        object: update(CREATED, scaled(CREATED, 5), "kube-controller-manager", T2),
        conflicts: [{ manager: "kube-controller-manager", field: ".spec.replicas" }],
      },
      { object: owned(ALICE_V1, entry("alice", "Apply", T3, ALICE_V1_FIELDS)), conflicts: [] },
    ],
  },
  {
    name: "an applier that leaves out replicas keeps no claim on them (HPA style): re-apply does not conflict",
    actual: () => {
      const v1 = ok(undefined, dep(containers({ name: "web", image: "nginx:1" })), "alice", T1);
      const scaledUp = update(v1, scaled(v1, 7), "kube-controller-manager", T2);
      return apply(scaledUp, dep(containers({ name: "web", image: "nginx:1" })), "alice", T3);
    },
    expected: {
      object: owned(
        dep({ ...containers({ name: "web", image: "nginx:1" }), replicas: 7 }),
        entry("alice", "Apply", T1, {
          "f:spec": {
            "f:template": { "f:spec": { "f:containers": { [WEB]: { ".": {}, "f:image": {}, "f:name": {} } } } },
          },
        }),
        entry("kube-controller-manager", "Update", T2, { "f:spec": { "f:replicas": {} } }),
      ),
      conflicts: [],
    },
  },
  {
    name: "a client-side apply create (Update) owns every field with '.', then a server-side apply conflicts with it",
    actual: () => {
      const annotation = { "kubectl.kubernetes.io/last-applied-configuration": "{}" };
      const created = update(
        undefined,
        dep(
          { replicas: 2, ...containers({ name: "web", image: "nginx:1" }) },
          { labels: { app: "web" }, annotations: annotation },
        ),
        "kubectl-client-side-apply",
        T1,
      );
      const managedFields = (created["metadata"] as Obj)["managedFields"];
      const result = apply(created, dep(containers({ name: "web", image: "nginx:2" })), "kubectl", T2);
      return { managedFields, conflicts: result.conflicts };
    },
    expected: {
      managedFields: [
        entry("kubectl-client-side-apply", "Update", T1, {
          "f:metadata": {
            "f:annotations": { ".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {} },
            "f:labels": { ".": {}, "f:app": {} },
          },
          "f:spec": {
            "f:replicas": {},
            "f:template": {
              ".": {},
              "f:spec": { ".": {}, "f:containers": { ".": {}, [WEB]: { ".": {}, "f:image": {}, "f:name": {} } } },
            },
          },
        }),
      ],
      conflicts: [{ manager: "kubectl-client-side-apply", field: '.spec.template.spec.containers[name="web"].image' }],
    },
  },
  {
    name: "a container item dropped from the configuration is removed when solely owned",
    actual: () => {
      const two = ok(
        undefined,
        dep(containers({ name: "web", image: "nginx:1" }, { name: "sidecar", image: "envoy:1" })),
        "alice",
        T1,
      );
      return apply(two, dep(containers({ name: "web", image: "nginx:1" })), "alice", T2);
    },
    expected: {
      object: owned(
        dep(containers({ name: "web", image: "nginx:1" })),
        entry("alice", "Apply", T2, {
          "f:spec": {
            "f:template": { "f:spec": { "f:containers": { [WEB]: { ".": {}, "f:image": {}, "f:name": {} } } } },
          },
        }),
      ),
      conflicts: [],
    },
  },
  {
    name: "a dropped container item another manager has fields in stays, with only that manager's fields and its key",
    actual: () => {
      const two = ok(
        undefined,
        dep(containers({ name: "web", image: "nginx:1" }, { name: "sidecar", image: "envoy:1" })),
        "alice",
        T1,
      );
      const withArgs = ok(two, dep(containers({ name: "sidecar", args: ["--verbose"] })), "bob", T2);
      return apply(withArgs, dep(containers({ name: "web", image: "nginx:1" })), "alice", T3);
    },
    expected: {
      object: owned(
        dep(containers({ name: "web", image: "nginx:1" }, { name: "sidecar", args: ["--verbose"] })),
        entry("alice", "Apply", T3, {
          "f:spec": {
            "f:template": { "f:spec": { "f:containers": { [WEB]: { ".": {}, "f:image": {}, "f:name": {} } } } },
          },
        }),
        entry("bob", "Apply", T2, {
          "f:spec": {
            "f:template": { "f:spec": { "f:containers": { [SIDECAR]: { ".": {}, "f:args": {}, "f:name": {} } } } },
          },
        }),
      ),
      conflicts: [],
    },
  },
  {
    name: "finalizers are a set: each manager owns its values; a dropped value goes, the last one takes the list",
    actual: () => {
      const a = ok(undefined, dep(undefined, { finalizers: ["a.example/x"] }), "alice", T1);
      const ab = ok(a, dep(undefined, { finalizers: ["b.example/y"] }), "bob", T2);
      const b = ok(ab, dep(undefined), "alice", T3);
      const none = ok(b, dep(undefined), "bob", T4);
      return [ab, b, none];
    },
    expected: [
      owned(
        dep(undefined, { finalizers: ["a.example/x", "b.example/y"] }),
        entry("alice", "Apply", T1, { "f:metadata": { "f:finalizers": { 'v:"a.example/x"': {} } } }),
        entry("bob", "Apply", T2, { "f:metadata": { "f:finalizers": { 'v:"b.example/y"': {} } } }),
      ),
      owned(
        dep(undefined, { finalizers: ["b.example/y"] }),
        entry("bob", "Apply", T2, { "f:metadata": { "f:finalizers": { 'v:"b.example/y"': {} } } }),
      ),
      dep(undefined),
    ],
  },
  {
    name: "an Update that removes a field drops it from every owner and records no entry of its own",
    actual: () => {
      const v1 = ok(undefined, dep({ replicas: 2 }, { labels: { app: "web", tier: "front" } }), "alice", T1);
      const edited = structuredClone(v1);
      delete ((edited["metadata"] as Obj)["labels"] as Obj)["tier"];
      return update(v1, edited, "kubectl-edit", T2);
    },
    expected: owned(
      dep({ replicas: 2 }, { labels: { app: "web" } }),
      entry("alice", "Apply", T1, { "f:metadata": { "f:labels": { "f:app": {} } }, "f:spec": { "f:replicas": {} } }),
    ),
  },
  {
    name: "an Update adding a label owns the label; its manager's fields accumulate over writes",
    actual: () => {
      const labelled = update(
        CREATED,
        { ...CREATED, metadata: { ...(CREATED["metadata"] as Obj), labels: { app: "web", env: "prod" } } },
        "kubectl-label",
        T2,
      );
      return update(labelled, scaled(labelled, 4), "kubectl-label", T3)["metadata"];
    },
    expected: {
      name: "web",
      namespace: "default",
      labels: { app: "web", env: "prod" },
      managedFields: [
        entry("alice", "Apply", T1, {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:template": { "f:spec": { "f:containers": { [WEB]: { ".": {}, "f:image": {}, "f:name": {} } } } },
          },
        }),
        entry("kubectl-label", "Update", T3, {
          "f:metadata": { "f:labels": { "f:env": {} } },
          "f:spec": { "f:replicas": {} },
        }),
      ],
    },
  },
  {
    name: "container ports are keyed by containerPort and protocol (TCP by default) in sets and conflicts",
    actual: () => {
      const live = ok(
        undefined,
        dep(containers({ name: "web", ports: [{ containerPort: 80, name: "http" }] })),
        "alice",
        T1,
      );
      const result = apply(
        live,
        dep(containers({ name: "web", ports: [{ containerPort: 80, protocol: "TCP", name: "web" }] })),
        "bob",
        T2,
      );
      return {
        fields: ((live["metadata"] as Obj)["managedFields"] as Obj[])[0]?.["fieldsV1"],
        conflicts: result.conflicts,
      };
    },
    expected: {
      fields: {
        "f:spec": {
          "f:template": {
            "f:spec": {
              "f:containers": {
                [WEB]: {
                  ".": {},
                  "f:name": {},
                  "f:ports": {
                    'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {}, "f:name": {} },
                  },
                },
              },
            },
          },
        },
      },
      conflicts: [
        {
          manager: "alice",
          field: '.spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].name',
        },
      ],
    },
  },
  {
    name: "custom resources have atomic lists: the whole list is one field",
    actual: () => {
      const widget = (items: string[]): Obj => ({
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "w" },
        spec: { items: items.map((name) => ({ name })) },
      });
      const options = { force: false, kind: "Widget", builtin: false };
      const live = serverSideApply(undefined, widget(["a"]), { ...options, manager: "alice", now: T1 }).object;
      const result = serverSideApply(live, widget(["b"]), { ...options, manager: "bob", now: T2 });
      return { managedFields: (live["metadata"] as Obj)["managedFields"], conflicts: result.conflicts };
    },
    expected: {
      managedFields: [entry("alice", "Apply", T1, { "f:spec": { "f:items": {} } }, "example.com/v1")],
      conflicts: [{ manager: "alice", field: ".spec.items" }],
    },
  },
  {
    name: "server metadata and identity in the applied object are neither merged nor owned",
    actual: () => {
      const live = {
        ...CREATED,
        metadata: {
          ...(CREATED["metadata"] as Obj),
          uid: "u-1",
          resourceVersion: "7",
          creationTimestamp: "2026-01-01T00:00:00Z",
        },
      };
      const applied = dep(
        { replicas: 2, ...containers({ name: "web", image: "nginx:1" }) },
        {
          labels: { app: "web" },
          uid: "other",
          resourceVersion: "1",
          creationTimestamp: null,
          managedFields: [entry("mallory", "Apply", T1, { "f:spec": {} })],
        },
      );
      return apply(live, applied, "alice", T2).object;
    },
    expected: {
      ...CREATED,
      metadata: {
        ...(CREATED["metadata"] as Obj),
        uid: "u-1",
        resourceVersion: "7",
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
    },
  },
];

describe("server-side apply ownership and conflicts", () => {
  it.each(cases)("$name", ({ actual, expected }) => {
    expect(actual()).toEqual(expected);
  });

  it("keeps live key order and appends new keys in applied order", () => {
    const live = ok(undefined, dep({ replicas: 2 }, { labels: { b: "1", a: "2" } }), "alice", T1);
    const object = ok(
      live,
      dep({ strategy: { type: "Recreate" }, paused: false }, { labels: { z: "3", c: "4" } }),
      "bob",
      T2,
    );
    expect(Object.keys(object["metadata"] as Obj)).toEqual(["name", "namespace", "labels", "managedFields"]);
    expect(Object.keys((object["metadata"] as Obj)["labels"] as Obj)).toEqual(["b", "a", "z", "c"]);
    expect(Object.keys(object["spec"] as Obj)).toEqual(["replicas", "strategy", "paused"]);
    expect(Object.keys(((object["metadata"] as Obj)["managedFields"] as Obj[])[0] ?? {})).toEqual([
      "manager",
      "operation",
      "apiVersion",
      "time",
      "fieldsType",
      "fieldsV1",
    ]);
  });

  it("merges lists keeping live-only items after the shared item they followed", () => {
    const live = ok(undefined, dep(containers({ name: "a" }, { name: "x" }, { name: "b" })), "alice", T1);
    const object = ok(live, dep(containers({ name: "b" }, { name: "c" }, { name: "a" })), "bob", T2);
    const names = (((object["spec"] as Obj)["template"] as Obj)["spec"] as Obj)["containers"] as Obj[];
    expect(names.map((c) => c["name"])).toEqual(["b", "c", "a", "x"]);
  });

  it("never mutates its inputs", () => {
    const live = deepFreeze(structuredClone(update(CREATED, scaled(CREATED, 5), "kube-controller-manager", T2)));
    const applied = deepFreeze(
      dep({ replicas: 3, ...containers({ name: "sidecar", image: "envoy:1" }) }, { finalizers: ["x"] }),
    );
    const before = JSON.stringify([live, applied]);
    apply(live, applied, "alice", T3, true);
    apply(live, applied, "bob", T3);
    update(live, deepFreeze(scaled(live, 9)), "hpa", T4);
    expect(JSON.stringify([live, applied])).toEqual(before);
  });
});

describe("field sets", () => {
  const fieldsV1 = {
    "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
    "f:spec": { "f:template": { "f:spec": { "f:containers": { [WEB]: { ".": {}, "f:image": {} } } } } },
  };

  it("round-trips fieldsV1 and lists member paths in order", () => {
    const set = fieldSetFromFieldsV1(fieldsV1);
    expect(fieldSetToFieldsV1(set)).toEqual(fieldsV1);
    expect(fieldSetPaths(set).map(formatFieldPath)).toEqual([
      ".metadata.labels",
      ".metadata.labels.app",
      '.spec.template.spec.containers[name="web"]',
      '.spec.template.spec.containers[name="web"].image',
    ]);
  });

  it("computes the applied set of an object: items with '.', sets as values, atomic lists as leaves", () => {
    const set = fieldSetOf(
      {
        metadata: { finalizers: ["f"], labels: {} },
        spec: { containers: [{ name: "web", args: ["a"], env: [{ name: "X", value: "1" }] }] },
      },
      { kind: "Pod", builtin: true },
    );
    expect(fieldSetToFieldsV1(set)).toEqual({
      "f:metadata": { "f:finalizers": { 'v:"f"': {} }, "f:labels": {} },
      "f:spec": {
        "f:containers": {
          [WEB]: {
            ".": {},
            "f:args": {},
            "f:env": { 'k:{"name":"X"}': { ".": {}, "f:name": {}, "f:value": {} } },
            "f:name": {},
          },
        },
      },
    });
  });

  it("takes unions, differences and intersections", () => {
    const a = fieldSetFromFieldsV1({ "f:spec": { "f:replicas": {}, "f:paused": {} } });
    const b = fieldSetFromFieldsV1({ "f:spec": { "f:replicas": {}, "f:minReadySeconds": {} } });
    expect(fieldSetToFieldsV1(unionFieldSets(a, b))).toEqual({
      "f:spec": { "f:minReadySeconds": {}, "f:paused": {}, "f:replicas": {} },
    });
    expect(fieldSetToFieldsV1(differenceFieldSets(a, b))).toEqual({ "f:spec": { "f:paused": {} } });
    expect(fieldSetToFieldsV1(intersectFieldSets(a, b))).toEqual({ "f:spec": { "f:replicas": {} } });
    expect(fieldSetToFieldsV1(differenceFieldSets(a, a))).toEqual({});
  });
});
