/**
 * ConfigSync's rounds that look only at the files a commit changed give the same cluster and the same RootSync
 * status as rounds that look at every object of the repository: two emulated edges sync the same repository
 * through a series of commits (additions, changes, removals, renames, an object two files share, an object moved
 * between files, an unknown kind, KNV2006, a CRD and its objects, a file that is not YAML), one with incremental
 * rounds and one with whole rounds, and after each commit their objects and statuses are compared; objects changed
 * by hand are applied again (found among the store's changes, or among all objects when its history moved on). A
 * round after a one-file change looks at that file's objects only, not at the repository's.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LocalGitRepository } from "../../agent/cad/git/repository.js";
import { ConfigSyncReconciler } from "../../emulator/configsync/reconciler.js";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { typeKey } from "../../emulator/type-registry.js";

type Obj = Record<string, unknown>;
const get = (o: unknown, ...p: string[]): unknown =>
  p.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);

const cm = (ns: string, name: string, value = "1") =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\ndata:\n  v: "${value}"\n`;
const namespace = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: { type: integer }
`;
const widget = (ns: string, size: number) =>
  `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: ${ns}\nspec:\n  size: ${size}\n`;

const INTENTS = 40;
let dir: string;
let git: LocalGitRepository;
/** Incremental rounds (the default), and whole rounds. */
let incremental: { emulator: Emulator; reconciler: ConfigSyncReconciler };
let whole: { emulator: Emulator; reconciler: ConfigSyncReconciler };

async function edge(wholeRounds: boolean) {
  const emulator = await startEmulator({
    name: "edge-1",
    nodes: [{ name: "node-1", cpu: "8", memory: "16Gi" }],
    configSync: false,
    controllers: false,
  });
  const reconciler = new ConfigSyncReconciler({ store: emulator.store, api: emulator.api, wholeRounds });
  reconciler.start();
  emulator.api.applyObject(
    {
      apiVersion: "configsync.gke.io/v1beta1",
      kind: "RootSync",
      metadata: { name: "root-sync", namespace: "config-management-system" },
      spec: {
        sourceFormat: "unstructured",
        git: { repo: dir, branch: "main", dir: ".", period: "50ms", auth: "none" },
      },
    },
    "camino",
  );
  return { emulator, reconciler };
}

const status = (e: Emulator) =>
  get(e.store.get("configsync.gke.io/rootsyncs", "config-management-system", "root-sync"), "status") as Obj;

/** Waits (bounded) until the edge has read `commit` (synced or not). */
async function readTo(e: Emulator, commit: string): Promise<Obj> {
  for (let i = 0; i < 400; i++) {
    const s = status(e);
    if (get(s, "source", "commit") === commit && get(s, "sync", "commit") !== undefined) {
      // A source error leaves sync as it was; otherwise sync names the commit too.
      if (get(s, "source", "errors") !== undefined || get(s, "sync", "commit") === commit) return s;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never read ${commit}: ${JSON.stringify(status(e))}`);
}

/** Whether a namespace is gone or being deleted (without the controllers, nothing finishes its deletion). */
const deleted = (e: Emulator, name: string) => {
  const ns = e.store.get("/namespaces", undefined, name);
  return ns === undefined || ns.metadata["deletionTimestamp"] !== undefined;
};

/** Every object of the edge, without what differs between two clusters doing the same (ids, versions, times). */
function cluster(e: Emulator): string[] {
  const drop = new Set(["uid", "resourceVersion", "creationTimestamp", "time", "lastUpdate", "lastUpdateTime"]);
  const out: string[] = [];
  for (const t of e.types.all())
    for (const o of e.store.list(typeKey(t)))
      out.push(
        `${typeKey(t)} ${JSON.stringify(o, (k, v) => (drop.has(k) || k === "lastTransitionTime" ? undefined : v))}`,
      );
  return out.sort();
}

/** Commits a change, waits until both edges read it, and checks they agree; returns the incremental one's status. */
async function step(change: { write?: Map<string, string>; remove?: string[] }): Promise<Obj> {
  const { commit } = await git.commit({ ...change, message: "step" });
  const [s] = await Promise.all([readTo(incremental.emulator, commit), readTo(whole.emulator, commit)]);
  // A deleted namespace goes away a moment later on each edge: they agree within a bounded wait.
  for (let i = 0; i < 100 && cluster(incremental.emulator).join("\n") !== cluster(whole.emulator).join("\n"); i++)
    await new Promise((r) => setTimeout(r, 20));
  expect(cluster(incremental.emulator)).toEqual(cluster(whole.emulator));
  return s;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "camino-incremental-"));
  git = await new LocalGitRepository({ dir }).init();
  const files = new Map<string, string>([["camino-system/ns.yaml", namespace("camino-system")]]);
  for (let i = 0; i < INTENTS; i++) {
    files.set(`i-${i}/pkg/cm.yaml`, cm(`i-${i}`, "cfg"));
    if (i < 5) files.set(`i-${i}/ns.yaml`, namespace(`i-${i}`));
  }
  await git.commit({ write: files, message: "seed" });
  incremental = await edge(false);
  whole = await edge(true);
});

afterAll(async () => {
  for (const e of [incremental, whole]) {
    await e?.reconciler.stop();
    await e?.emulator.close();
  }
});

describe("ConfigSync's incremental rounds", () => {
  it("give the same objects and status as whole rounds, commit after commit", async () => {
    const first = await step({ write: new Map([["README", "seed\n"]]) });
    expect(get(first, "sync", "errorSummary", "totalCount")).toBe(0);
    expect(incremental.emulator.store.get("/configmaps", "i-39", "cfg")).toBeDefined();

    // Added, changed, removed (a namespace with its objects), renamed.
    await step({
      write: new Map([
        ["i-40/pkg/cm.yaml", cm("i-40", "cfg")],
        ["i-1/pkg/cm.yaml", cm("i-1", "cfg", "2")],
        ["i-3/pkg/renamed.yaml", cm("i-3", "cfg")],
      ]),
      remove: ["i-2", "i-3/pkg/cm.yaml"],
    });
    const e = incremental.emulator.store;
    expect(get(e.get("/configmaps", "i-1", "cfg"), "data", "v")).toBe("2");
    expect(e.get("/configmaps", "i-2", "cfg")).toBeUndefined();
    expect(deleted(incremental.emulator, "i-2")).toBe(true);
    expect(e.get("/configmaps", "i-3", "cfg")).toBeDefined();
    expect(e.get("/configmaps", "i-40", "cfg")).toBeDefined();

    // An object two files have stays while either has it.
    await step({
      write: new Map([
        ["dup/a.yaml", cm("i-5", "shared")],
        ["dup/b.yaml", cm("i-5", "shared")],
      ]),
    });
    await step({ remove: ["dup/a.yaml"] });
    expect(e.get("/configmaps", "i-5", "shared")).toBeDefined();
    await step({ remove: ["dup/b.yaml"] });
    expect(e.get("/configmaps", "i-5", "shared")).toBeUndefined();

    // An object moved to another file in one commit stays.
    await step({ write: new Map([["i-6/other/cm.yaml", cm("i-6", "cfg", "moved")]]), remove: ["i-6/pkg/cm.yaml"] });
    expect(get(e.get("/configmaps", "i-6", "cfg"), "data", "v")).toBe("moved");

    // An unknown kind is reported (KNV1021) with the rest applied, then removed.
    const unknown = await step({
      write: new Map([
        ["bad/x.yaml", widget("i-7", 1)],
        ["i-8/pkg/cm.yaml", cm("i-8", "cfg", "3")],
      ]),
    });
    expect(get(unknown, "sync", "errors")).toEqual([
      { code: "1021", errorMessage: expect.stringContaining('no matches for kind "Widget"') },
    ]);
    expect(get(e.get("/configmaps", "i-8", "cfg"), "data", "v")).toBe("3");
    expect(get(await step({ remove: ["bad"] }), "sync", "errorSummary", "totalCount")).toBe(0);

    // KNV2006: a commit that removes every namespace is refused, and applied once a namespace stays.
    const refused = await step({ remove: ["camino-system", ...[0, 1, 3, 4].map((i) => `i-${i}/ns.yaml`)] });
    expect(get(refused, "sync", "errors")).toEqual([
      { code: "2006", errorMessage: expect.stringContaining("KNV2006") },
    ]);
    expect(deleted(incremental.emulator, "i-0")).toBe(false);
    await step({ write: new Map([["camino-system/ns.yaml", namespace("camino-system")]]) });
    expect(deleted(incremental.emulator, "i-0")).toBe(true);

    // A CRD and an object of its kind, the object changed, both removed.
    const withCrd = await step({
      write: new Map([
        ["crd/crd.yaml", crd],
        ["i-7/pkg/w.yaml", widget("i-7", 1)],
      ]),
    });
    expect(get(withCrd, "sync", "errors")).toBeUndefined();
    expect(get(e.get("example.com/widgets", "i-7", "w"), "spec", "size")).toBe(1);
    await step({ write: new Map([["i-7/pkg/w.yaml", widget("i-7", 2)]]) });
    expect(get(e.get("example.com/widgets", "i-7", "w"), "spec", "size")).toBe(2);
    await step({ remove: ["crd", "i-7/pkg/w.yaml"] });
    expect(incremental.emulator.types.all().some((t) => t.kind === "Widget")).toBe(false);

    // A file that is not YAML: nothing of that commit is applied; the next commit is.
    const broken = await step({
      write: new Map([
        ["i-9/pkg/cm.yaml", "a: [\n"],
        ["i-10/pkg/cm.yaml", cm("i-10", "cfg", "4")],
      ]),
    });
    expect(get(broken, "source", "errors")).toEqual([
      { code: "1007", errorMessage: expect.stringContaining("i-9/pkg/cm.yaml") },
    ]);
    expect(get(e.get("/configmaps", "i-10", "cfg"), "data", "v")).toBe("1");
    await step({ write: new Map([["i-9/pkg/cm.yaml", cm("i-9", "cfg", "5")]]) });
    expect(get(e.get("/configmaps", "i-10", "cfg"), "data", "v")).toBe("4");
  });

  it("apply again what someone changed or deleted by hand, at a drift round, as whole rounds do", async () => {
    const edges = [incremental.emulator, whole.emulator];
    for (const x of edges) {
      x.api.deleteObject(
        x.api.targetOf({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "i-12" } }),
      );
      x.api.applyObject(
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "i-13" }, data: { v: "by hand" } },
        "kubectl",
      );
    }
    const restored = (x: Emulator) =>
      x.store.get("/configmaps", "i-12", "cfg") !== undefined &&
      get(x.store.get("/configmaps", "i-13", "cfg"), "data", "v") === "1";
    for (let i = 0; i < 500 && !edges.every(restored); i++) await new Promise((r) => setTimeout(r, 20));
    expect(edges.map(restored)).toEqual([true, true]);
    expect(cluster(incremental.emulator)).toEqual(cluster(whole.emulator));
  });

  it("apply again an object two files have, and what changed while the store's history moved on, as whole rounds do", async () => {
    const edges = [incremental.emulator, whole.emulator];
    await step({
      write: new Map([
        ["dup/a.yaml", cm("i-14", "shared")],
        ["dup/b.yaml", cm("i-14", "shared")],
      ]),
    });
    const byHand = (x: Emulator, ns: string, name: string) =>
      x.api.applyObject(
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns }, data: { v: "by hand" } },
        "kubectl",
      );
    const restored = (ns: string, name: string) => (x: Emulator) =>
      get(x.store.get("/configmaps", ns, name), "data", "v") === "1";
    const until = async (done: (x: Emulator) => boolean) => {
      for (let i = 0; i < 500 && !edges.every(done); i++) await new Promise((r) => setTimeout(r, 20));
      expect(edges.map(done)).toEqual([true, true]);
    };
    // An id two files have: not found in one file, looked for in the whole repository.
    for (const x of edges) byHand(x, "i-14", "shared");
    await until(restored("i-14", "shared"));
    // More changes than the store's history keeps (10,000) since the last drift round: every object is compared.
    for (const x of edges) {
      for (let i = 0; i < 5001; i++) x.store.put("/secrets", { metadata: { name: `s-${i}`, namespace: "other" } });
      for (let i = 0; i < 5001; i++) x.store.remove("/secrets", "other", `s-${i}`);
      byHand(x, "i-15", "cfg");
    }
    await until(restored("i-15", "cfg"));
    expect(cluster(incremental.emulator)).toEqual(cluster(whole.emulator));
    await step({ remove: ["dup"] });
  });

  it("look only at the objects of the file that changed, not at every object of the repository", async () => {
    const targets = (x: Emulator) => vi.spyOn(x.api, "targetOf");
    const [a, b] = [targets(incremental.emulator), targets(whole.emulator)];
    await step({ write: new Map([["i-11/pkg/cm.yaml", cm("i-11", "cfg", "6")]]) });
    // The incremental edge looked at the old and the new ConfigMap of that file; the other at every object.
    expect(a.mock.calls.length).toBeLessThanOrEqual(4);
    expect(b.mock.calls.length).toBeGreaterThan(INTENTS);
    // Quiet rounds, and drift rounds that find nothing changed by hand, look at no object of the repository; the
    // other edge looks at every object at each drift round (three of them here: the first edge had as many).
    a.mockClear();
    b.mockClear();
    for (let i = 0; i < 1000 && b.mock.calls.length < 3 * INTENTS; i++) await new Promise((r) => setTimeout(r, 10));
    expect(b.mock.calls.length).toBeGreaterThanOrEqual(3 * INTENTS);
    expect(a.mock.calls.length).toBe(0);
    a.mockRestore();
    b.mockRestore();
  });
});
