/** Strategic merge patch and JSON merge patch: tables of original + patch → exact result, and malformed patches. */
import { describe, expect, it } from "vitest";
import { jsonMergePatch } from "../../emulator/patch/merge-patch.js";
import { PatchError, strategicMergePatch } from "../../emulator/patch/strategic-merge-patch.js";

type Json = Record<string, unknown>;

/** Freezes a JSON value all the way down, so that any change to an input throws (ESM code is strict). */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** A Deployment (or its patch) around a pod spec. */
function deployment(podSpec: Json, extra: Json = {}): Json {
  return { spec: { template: { spec: podSpec } }, ...extra };
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

interface SmpCase {
  name: string;
  kind: string;
  original: Json;
  patch: Json;
  expected: Json;
}

const SMP_CASES: SmpCase[] = [
  {
    name: "maps merge recursively; null deletes a key; a null for a missing key adds nothing",
    kind: "Deployment",
    original: {
      metadata: { name: "web", labels: { app: "web", tier: "front" }, annotations: { a: "1" } },
      spec: { replicas: 1 },
    },
    patch: {
      metadata: { labels: { tier: null, version: "v2" }, annotations: { gone: null } },
      spec: { replicas: 3, paused: null },
    },
    expected: {
      metadata: { name: "web", labels: { app: "web", version: "v2" }, annotations: { a: "1" } },
      spec: { replicas: 3 },
    },
  },
  {
    name: "a map new to the object is taken without its nulls",
    kind: "Deployment",
    original: { metadata: { name: "web" } },
    patch: { spec: { selector: { matchLabels: { app: "web", old: null } }, strategy: null } },
    expected: { metadata: { name: "web" }, spec: { selector: { matchLabels: { app: "web" } } } },
  },
  {
    name: "a patch value of another type replaces the original value",
    kind: "ConfigMap",
    original: { data: { a: "1" }, binaryData: "x" },
    patch: { data: "not-a-map", binaryData: { b: "Yg==" } },
    expected: { data: "not-a-map", binaryData: { b: "Yg==" } },
  },
  {
    name: "kubectl apply: a changed image, with $setElementOrder/containers and the new last-applied annotation",
    kind: "Deployment",
    original: {
      metadata: { name: "web", annotations: { [LAST_APPLIED]: '{"old":true}' } },
      spec: {
        replicas: 2,
        template: {
          spec: {
            containers: [
              { name: "web", image: "nginx:1.25", ports: [{ containerPort: 80, protocol: "TCP" }] },
              { name: "sidecar", image: "envoy:1.30" },
            ],
          },
        },
      },
    },
    patch: {
      metadata: { annotations: { [LAST_APPLIED]: '{"new":true}' } },
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
            containers: [{ image: "nginx:1.27", name: "web" }],
          },
        },
      },
    },
    expected: {
      metadata: { name: "web", annotations: { [LAST_APPLIED]: '{"new":true}' } },
      spec: {
        replicas: 2,
        template: {
          spec: {
            containers: [
              { name: "web", image: "nginx:1.27", ports: [{ containerPort: 80, protocol: "TCP" }] },
              { name: "sidecar", image: "envoy:1.30" },
            ],
          },
        },
      },
    },
  },
  {
    name: "kubectl apply: an env var removed with $patch: delete and $setElementOrder/env",
    kind: "Deployment",
    original: deployment({
      containers: [
        {
          name: "web",
          image: "nginx",
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
            { name: "C", value: "3" },
          ],
        },
      ],
    }),
    patch: deployment({
      "$setElementOrder/containers": [{ name: "web" }],
      containers: [
        { "$setElementOrder/env": [{ name: "A" }, { name: "C" }], env: [{ $patch: "delete", name: "B" }], name: "web" },
      ],
    }),
    expected: deployment({
      containers: [
        {
          name: "web",
          image: "nginx",
          env: [
            { name: "A", value: "1" },
            { name: "C", value: "3" },
          ],
        },
      ],
    }),
  },
  {
    name: "kubectl apply: a container port changed (new port added, old one deleted, merged by containerPort)",
    kind: "Deployment",
    original: deployment({
      containers: [{ name: "web", image: "nginx", ports: [{ name: "http", containerPort: 80, protocol: "TCP" }] }],
    }),
    patch: deployment({
      "$setElementOrder/containers": [{ name: "web" }],
      containers: [
        {
          "$setElementOrder/ports": [{ containerPort: 8080 }],
          name: "web",
          ports: [
            { containerPort: 8080, name: "http" },
            { $patch: "delete", containerPort: 80 },
          ],
        },
      ],
    }),
    expected: deployment({
      containers: [{ name: "web", image: "nginx", ports: [{ containerPort: 8080, name: "http" }] }],
    }),
  },
  {
    name: "kubectl apply: an env var added at the end, placed by $setElementOrder",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web", env: [{ name: "A", value: "1" }] }] }),
    patch: deployment({
      "$setElementOrder/containers": [{ name: "web" }],
      containers: [
        { "$setElementOrder/env": [{ name: "A" }, { name: "B" }], env: [{ name: "B", value: "2" }], name: "web" },
      ],
    }),
    expected: deployment({
      containers: [
        {
          name: "web",
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
          ],
        },
      ],
    }),
  },
  {
    name: "kubectl apply: a container added first, placed by $setElementOrder",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web", image: "nginx" }] }),
    patch: deployment({
      "$setElementOrder/containers": [{ name: "proxy" }, { name: "web" }],
      containers: [{ image: "envoy", name: "proxy" }],
    }),
    expected: deployment({
      containers: [
        { name: "proxy", image: "envoy" },
        { name: "web", image: "nginx" },
      ],
    }),
  },
  {
    name: "without $setElementOrder a new list item goes before the original items (as kubectl patch shows)",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web", image: "nginx" }] }),
    patch: deployment({ containers: [{ name: "debug", image: "busybox", command: null }] }),
    expected: deployment({
      containers: [
        { name: "debug", image: "busybox" },
        { name: "web", image: "nginx" },
      ],
    }),
  },
  {
    name: "without $setElementOrder patched items take the patch's order, interleaved with the others (apimachinery's case)",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "1" }, { name: "2", image: "b" }, { name: "3" }] }),
    patch: deployment({
      containers: [
        { name: "3", image: "c" },
        { name: "1", image: "a" },
      ],
    }),
    expected: deployment({
      containers: [
        { name: "2", image: "b" },
        { name: "3", image: "c" },
        { name: "1", image: "a" },
      ],
    }),
  },
  {
    name: "$setElementOrder: a server-only item that came before a named one stays before it",
    kind: "Deployment",
    original: deployment({
      containers: [
        { name: "mesh-proxy", image: "injected" },
        { name: "web", image: "v1" },
      ],
    }),
    patch: deployment({
      "$setElementOrder/containers": [{ name: "web" }, { name: "worker" }],
      containers: [
        { name: "web", image: "v2" },
        { name: "worker", image: "w" },
      ],
    }),
    expected: deployment({
      containers: [
        { name: "mesh-proxy", image: "injected" },
        { name: "web", image: "v2" },
        { name: "worker", image: "w" },
      ],
    }),
  },
  {
    name: "$setElementOrder: a server-only item after the named ones stays after them",
    kind: "Deployment",
    original: deployment({
      containers: [
        { name: "web", image: "v1" },
        { name: "mesh-proxy", image: "injected" },
      ],
    }),
    patch: deployment({
      "$setElementOrder/containers": [{ name: "web" }, { name: "worker" }],
      containers: [{ name: "worker", image: "w" }],
    }),
    expected: deployment({
      containers: [
        { name: "web", image: "v1" },
        { name: "worker", image: "w" },
        { name: "mesh-proxy", image: "injected" },
      ],
    }),
  },
  {
    name: "a list-level {$patch: replace} item replaces the whole list with the other items",
    kind: "Deployment",
    original: deployment({
      containers: [
        { name: "a", image: "a", env: [{ name: "X", value: "1" }] },
        { name: "b", image: "b" },
      ],
    }),
    patch: deployment({ containers: [{ $patch: "replace" }, { name: "c", image: "c" }] }),
    expected: deployment({ containers: [{ name: "c", image: "c" }] }),
  },
  {
    name: "a {$patch: delete} item deletes every item with that key; one matching nothing does nothing",
    kind: "Deployment",
    original: deployment({
      volumes: [
        { name: "v1", emptyDir: {} },
        { name: "v1", emptyDir: { medium: "Memory" } },
        { name: "v2", secret: { secretName: "s" } },
      ],
    }),
    patch: deployment({
      volumes: [
        { $patch: "delete", name: "v1" },
        { $patch: "delete", name: "nope" },
      ],
    }),
    expected: deployment({ volumes: [{ name: "v2", secret: { secretName: "s" } }] }),
  },
  {
    name: "$patch: replace inside a map replaces that map",
    kind: "Deployment",
    original: deployment({ nodeSelector: { disk: "ssd", zone: "a" }, containers: [{ name: "web" }] }),
    patch: deployment({ nodeSelector: { $patch: "replace", zone: "b" } }),
    expected: deployment({ nodeSelector: { zone: "b" }, containers: [{ name: "web" }] }),
  },
  {
    name: "$patch: delete inside a map deletes it (also where the object has no such map)",
    kind: "Deployment",
    original: { metadata: { name: "web", annotations: { a: "1", b: "2" } } },
    patch: { metadata: { annotations: { $patch: "delete" }, labels: { $patch: "delete" } } },
    expected: { metadata: { name: "web" } },
  },
  {
    name: "$retainKeys: kubectl apply switching the Deployment strategy to Recreate",
    kind: "Deployment",
    original: {
      spec: { replicas: 1, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } },
    },
    patch: { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: null, type: "Recreate" } } },
    expected: { spec: { replicas: 1, strategy: { type: "Recreate" } } },
  },
  {
    name: "$retainKeys in a list item: a volume changed from emptyDir to configMap",
    kind: "Deployment",
    original: deployment({
      volumes: [
        { name: "cfg", emptyDir: {} },
        { name: "data", emptyDir: {} },
      ],
    }),
    patch: deployment({
      "$setElementOrder/volumes": [{ name: "cfg" }, { name: "data" }],
      volumes: [{ $retainKeys: ["configMap", "name"], configMap: { name: "app-config" }, name: "cfg" }],
    }),
    expected: deployment({
      volumes: [
        { name: "cfg", configMap: { name: "app-config" } },
        { name: "data", emptyDir: {} },
      ],
    }),
  },
  {
    name: "a set of primitives (finalizers) merges as a union",
    kind: "Deployment",
    original: { metadata: { finalizers: ["a", "b"] } },
    patch: { metadata: { finalizers: ["b", "c", "c"] } },
    expected: { metadata: { finalizers: ["a", "b", "c"] } },
  },
  {
    name: "a set: without $setElementOrder a new value goes before the original values",
    kind: "Deployment",
    original: { metadata: { finalizers: ["a", "b"] } },
    patch: { metadata: { finalizers: ["c"] } },
    expected: { metadata: { finalizers: ["c", "a", "b"] } },
  },
  {
    name: "$deleteFromPrimitiveList removes values from a set (absent values ignored)",
    kind: "Deployment",
    original: { metadata: { finalizers: ["a", "b", "c"] } },
    patch: { metadata: { "$deleteFromPrimitiveList/finalizers": ["b", "zz"] } },
    expected: { metadata: { finalizers: ["a", "c"] } },
  },
  {
    name: "kubectl apply on a set: $setElementOrder, an added value and $deleteFromPrimitiveList together",
    kind: "Deployment",
    original: { metadata: { finalizers: ["a", "b", "x"] } },
    patch: {
      metadata: {
        "$setElementOrder/finalizers": ["a", "c"],
        finalizers: ["c"],
        "$deleteFromPrimitiveList/finalizers": ["b"],
      },
    },
    expected: { metadata: { finalizers: ["a", "c", "x"] } },
  },
  {
    name: "$setElementOrder on a set alone reorders it; values it names that are absent are not added",
    kind: "Deployment",
    original: { metadata: { finalizers: ["one", "three"] } },
    patch: { metadata: { "$setElementOrder/finalizers": ["three", "two", "one"] } },
    expected: { metadata: { finalizers: ["three", "one"] } },
  },
  {
    name: "atomic lists (args, tolerations) are replaced whole",
    kind: "Deployment",
    original: deployment({
      tolerations: [{ key: "k1", operator: "Exists" }],
      containers: [{ name: "web", args: ["a", "b"] }],
    }),
    patch: deployment({
      tolerations: [{ key: "k2", operator: "Equal", value: "v" }],
      containers: [{ name: "web", args: ["c"] }],
    }),
    expected: deployment({
      tolerations: [{ key: "k2", operator: "Equal", value: "v" }],
      containers: [{ name: "web", args: ["c"] }],
    }),
  },
  {
    name: "Service ports merge by port: kubectl apply changing one targetPort",
    kind: "Service",
    original: {
      spec: {
        selector: { app: "web" },
        ports: [
          { name: "http", port: 80, targetPort: 8080, protocol: "TCP" },
          { name: "https", port: 443, targetPort: 8443, protocol: "TCP" },
        ],
      },
    },
    patch: {
      spec: { "$setElementOrder/ports": [{ port: 80 }, { port: 443 }], ports: [{ port: 80, targetPort: 9090 }] },
    },
    expected: {
      spec: {
        selector: { app: "web" },
        ports: [
          { name: "http", port: 80, targetPort: 9090, protocol: "TCP" },
          { name: "https", port: 443, targetPort: 8443, protocol: "TCP" },
        ],
      },
    },
  },
  {
    name: "container ports merge by containerPort alone (the patchMergeKey), so a protocol change merges in place",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "dns", ports: [{ containerPort: 53, protocol: "TCP" }] }] }),
    patch: deployment({ containers: [{ name: "dns", ports: [{ containerPort: 53, protocol: "UDP" }] }] }),
    expected: deployment({ containers: [{ name: "dns", ports: [{ containerPort: 53, protocol: "UDP" }] }] }),
  },
  {
    name: "status conditions merge by type",
    kind: "Deployment",
    original: {
      status: {
        conditions: [
          { type: "Ready", status: "False", reason: "Starting" },
          { type: "Available", status: "True" },
        ],
      },
    },
    patch: { status: { conditions: [{ type: "Ready", status: "True", reason: null }] } },
    expected: {
      status: {
        conditions: [
          { type: "Ready", status: "True" },
          { type: "Available", status: "True" },
        ],
      },
    },
  },
  {
    name: "a list new to the object: directives carried out, delete items dropped",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web" }] }),
    patch: deployment({
      "$setElementOrder/volumes": [{ name: "b" }, { name: "x" }, { name: "a" }],
      volumes: [
        { name: "b", secret: { secretName: "s", optional: null } },
        { name: "a", emptyDir: {} },
        { $patch: "delete", name: "c" },
      ],
    }),
    expected: deployment({
      containers: [{ name: "web" }],
      volumes: [
        { name: "b", secret: { secretName: "s" } },
        { name: "a", emptyDir: {} },
      ],
    }),
  },
  {
    name: "$patch: replace at the root replaces the whole object",
    kind: "ConfigMap",
    original: { metadata: { name: "cfg" }, data: { a: "1" } },
    patch: { $patch: "replace", metadata: { name: "cfg" }, data: { b: "2" } },
    expected: { metadata: { name: "cfg" }, data: { b: "2" } },
  },
  {
    name: "$patch: delete at the root empties the object",
    kind: "ConfigMap",
    original: { metadata: { name: "cfg" }, data: { a: "1" } },
    patch: { $patch: "delete" },
    expected: {},
  },
  {
    name: "an empty patch changes nothing",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web", image: "nginx" }] }),
    patch: {},
    expected: deployment({ containers: [{ name: "web", image: "nginx" }] }),
  },
];

describe("strategicMergePatch", () => {
  it.each(SMP_CASES)("$name", ({ kind, original, patch, expected }) => {
    const frozenOriginal = deepFreeze(structuredClone(original));
    const frozenPatch = deepFreeze(structuredClone(patch));
    const result = strategicMergePatch(frozenOriginal, frozenPatch, kind);
    expect(result).toEqual(expected);
    // Inputs untouched (frozen, so a change would have thrown) and the output deterministic, key order included.
    expect(frozenOriginal).toEqual(original);
    expect(frozenPatch).toEqual(patch);
    expect(JSON.stringify(strategicMergePatch(frozenOriginal, frozenPatch, kind))).toBe(JSON.stringify(result));
  });

  it("shares nothing with its inputs", () => {
    const original = deployment({ containers: [{ name: "web", image: "nginx", env: [{ name: "A", value: "1" }] }] });
    const patch = deployment({ containers: [{ name: "side", image: "envoy", args: ["x"] }] });
    const result = strategicMergePatch(original, patch, "Deployment");
    const text = JSON.stringify({ original, patch });
    const wipe = (value: unknown): void => {
      if (typeof value !== "object" || value === null) return;
      for (const child of Object.values(value)) wipe(child);
      if (Array.isArray(value)) value.length = 0;
      else for (const key of Object.keys(value)) delete (value as Json)[key];
    };
    wipe(result);
    expect(result).toEqual({});
    expect(JSON.stringify({ original, patch })).toBe(text);
  });
});

interface ErrorCase {
  name: string;
  kind: string;
  original: Json;
  patch: Json;
  message: RegExp;
}

const ERROR_CASES: ErrorCase[] = [
  {
    name: "$setElementOrder that is not a list",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web" }] }),
    patch: deployment({ "$setElementOrder/containers": { name: "web" } }),
    message: /spec\.template\.spec: \$setElementOrder\/containers must be a list/,
  },
  {
    name: "a map-list patch item without its merge key",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web" }] }),
    patch: deployment({ containers: [{ image: "nginx" }] }),
    message: /spec\.template\.spec\.containers: map \{"image":"nginx"\} does not contain declared merge key "name"/,
  },
  {
    name: "a $patch: delete item without its merge key",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web", env: [{ name: "A" }] }] }),
    patch: deployment({ containers: [{ name: "web", env: [{ $patch: "delete", value: "x" }] }] }),
    message: /containers\.env: map .* does not contain declared merge key "name"/,
  },
  {
    name: "an unknown $patch value in a map",
    kind: "Deployment",
    original: { metadata: { labels: { a: "b" } } },
    patch: { metadata: { labels: { $patch: "remove" } } },
    message: /metadata\.labels: unknown \$patch value "remove"/,
  },
  {
    name: "an unknown $patch value in a list item",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web" }] }),
    patch: deployment({ containers: [{ $patch: "drop", name: "web" }] }),
    message: /unknown \$patch value "drop" in list item/,
  },
  {
    name: "$patch: merge in a list",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "web" }] }),
    patch: deployment({ containers: [{ $patch: "merge" }] }),
    message: /"\$patch: merge" cannot be specified in a list/,
  },
  {
    name: "$retainKeys that is not a list",
    kind: "Deployment",
    original: { spec: { strategy: { type: "RollingUpdate" } } },
    patch: { spec: { strategy: { $retainKeys: "type", type: "Recreate" } } },
    message: /spec\.strategy: \$retainKeys must be a list/,
  },
  {
    name: "$retainKeys not listing a field the patch sets",
    kind: "Deployment",
    original: { spec: { strategy: { type: "RollingUpdate" } } },
    patch: { spec: { strategy: { $retainKeys: ["type"], type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } } },
    message: /field "rollingUpdate" is patched but not listed in \$retainKeys/,
  },
  {
    name: "a patch list out of $setElementOrder's order",
    kind: "Deployment",
    original: deployment({ containers: [{ name: "a" }, { name: "b" }] }),
    patch: deployment({
      "$setElementOrder/containers": [{ name: "a" }, { name: "b" }],
      containers: [{ name: "b" }, { name: "a" }],
    }),
    message: /doesn't match \$setElementOrder list/,
  },
  {
    name: "$deleteFromPrimitiveList that is not a list",
    kind: "Deployment",
    original: { metadata: { finalizers: ["a"] } },
    patch: { metadata: { "$deleteFromPrimitiveList/finalizers": "a" } },
    message: /\$deleteFromPrimitiveList\/finalizers must be a list/,
  },
  {
    name: "a directive key without /<field>",
    kind: "Deployment",
    original: { metadata: { finalizers: ["a"] } },
    patch: { metadata: { $setElementOrder: ["a"] } },
    message: /"\$setElementOrder" is not of the form "\$setElementOrder\/<field>"/,
  },
  {
    name: "objects in a set of primitives",
    kind: "Deployment",
    original: { metadata: { finalizers: ["a"] } },
    patch: { metadata: { finalizers: [{ name: "b" }] } },
    message: /metadata\.finalizers: the patch list must hold primitives/,
  },
];

describe("strategicMergePatch errors", () => {
  it.each(ERROR_CASES)("$name", ({ kind, original, patch, message }) => {
    const run = (): unknown => strategicMergePatch(deepFreeze(original), deepFreeze(patch), kind);
    expect(run).toThrow(PatchError);
    expect(run).toThrow(message);
  });

  it("refuses a patch that is not an object", () => {
    expect(() => strategicMergePatch({}, [] as unknown as Json, "Deployment")).toThrow(/must be a JSON object/);
  });
});

/** RFC 7386 appendix A, then what a custom resource patch looks like. */
const MERGE_CASES: [string, unknown, unknown, unknown][] = [
  ["a value changed", { a: "b" }, { a: "c" }, { a: "c" }],
  ["a key added", { a: "b" }, { b: "c" }, { a: "b", b: "c" }],
  ["a key removed by null", { a: "b" }, { a: null }, {}],
  ["one key of two removed", { a: "b", b: "c" }, { a: null }, { b: "c" }],
  ["an array replaced by a string", { a: ["b"] }, { a: "c" }, { a: "c" }],
  ["a string replaced by an array", { a: "c" }, { a: ["b"] }, { a: ["b"] }],
  ["nested maps merged, a nested null removes", { a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
  ["arrays replaced whole", { a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
  ["an array target replaced by an array", ["a", "b"], ["c", "d"], ["c", "d"]],
  ["an object target replaced by an array", { a: "b" }, ["c"], ["c"]],
  ["a null patch is the result", { a: "foo" }, null, null],
  ["a string patch is the result", { a: "foo" }, "bar", "bar"],
  ["a null in the target is kept", { e: null }, { a: 1 }, { e: null, a: 1 }],
  ["an array target becomes an object, the patch's nulls dropped", [1, 2], { a: "b", c: null }, { a: "b" }],
  ["a new nested map keeps its empty maps, not its nulls", {}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  [
    "a custom resource: lists replaced, maps merged",
    {
      apiVersion: "x.io/v1",
      kind: "Foo",
      spec: { size: 1, items: [{ name: "a" }, { name: "b" }], labels: { k: "v" } },
    },
    { spec: { items: [{ name: "c" }], labels: { k: null, n: "m" } } },
    { apiVersion: "x.io/v1", kind: "Foo", spec: { size: 1, items: [{ name: "c" }], labels: { n: "m" } } },
  ],
];

describe("jsonMergePatch", () => {
  it.each(MERGE_CASES)("%s", (_name, target, patch, expected) => {
    const frozenTarget = deepFreeze(structuredClone(target));
    const frozenPatch = deepFreeze(structuredClone(patch));
    expect(jsonMergePatch(frozenTarget, frozenPatch)).toEqual(expected);
    expect(frozenTarget).toEqual(target);
    expect(frozenPatch).toEqual(patch);
  });

  it("keeps a __proto__ key as data", () => {
    const patch: unknown = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const result = jsonMergePatch({}, patch) as Json;
    expect(Object.hasOwn(result, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(result))).toEqual(patch);
  });
});
