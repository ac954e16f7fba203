/** An edge's watched objects by intent (agent/edge/intent-index.ts): what a standing watch reads, and its change mark. */
import { describe, expect, it } from "vitest";
import { IntentIndex } from "../../agent/edge/intent-index.js";

interface Obj {
  metadata: { namespace: string; name: string; resourceVersion: string; labels: Record<string, string> };
}

const obj = (ns: string, name: string, intent?: string, rv = "1"): Obj => ({
  metadata: { namespace: ns, name, resourceVersion: rv, labels: intent ? { "camino.io/intent": intent } : {} },
});

const names = (index: IntentIndex<Obj>, intent: string) =>
  [...index.of(intent)].map((x) => `${x.kind}/${x.object.metadata.name}`).sort();

describe("IntentIndex", () => {
  it("gives one intent's objects, each with its kind, and ignores objects of no intent", () => {
    const index = new IntentIndex<Obj>();
    index.apply("Deployment", obj("shop", "web", "shop"), false);
    index.apply("Pod", obj("shop", "web-1", "shop"), false);
    index.apply("Deployment", obj("blog", "web", "blog"), false);
    index.apply("Pod", obj("kube-system", "dns"), false);
    expect(names(index, "shop")).toEqual(["Deployment/web", "Pod/web-1"]);
    expect(names(index, "blog")).toEqual(["Deployment/web"]);
    expect(names(index, "none")).toEqual([]);
    expect(index.size).toBe(2);
  });

  it("moves one intent's mark on each change of its objects, and no other intent's", () => {
    const index = new IntentIndex<Obj>();
    index.apply("Deployment", obj("shop", "web", "shop"), false);
    index.apply("Deployment", obj("blog", "web", "blog"), false);
    const shop = index.changes("shop");
    const blog = index.changes("blog");
    expect(shop).not.toBe(0);

    index.apply("Deployment", obj("shop", "web", "shop", "2"), false);
    expect(index.changes("shop")).not.toBe(shop);
    expect(index.changes("blog")).toBe(blog);
  });

  it("forgets a deleted object; an intent with none left has mark 0, and a new object gives a mark never seen", () => {
    const index = new IntentIndex<Obj>();
    index.apply("Deployment", obj("shop", "web", "shop"), false);
    const first = index.changes("shop");
    index.apply("Deployment", obj("shop", "web", "shop"), true);
    expect(names(index, "shop")).toEqual([]);
    expect(index.changes("shop")).toBe(0);
    expect(index.size).toBe(0);
    index.apply("Deployment", obj("shop", "web", "shop"), false);
    expect(index.changes("shop")).not.toBe(first);
    expect(index.changes("shop")).not.toBe(0);
  });

  it("an object relabelled to another intent leaves the first (both marks move)", () => {
    const index = new IntentIndex<Obj>();
    index.apply("Deployment", obj("shared", "web", "a"), false);
    index.apply("Deployment", obj("shared", "other", "a"), false);
    const a = index.changes("a");
    index.apply("Deployment", obj("shared", "web", "b", "2"), false);
    expect(names(index, "a")).toEqual(["Deployment/other"]);
    expect(names(index, "b")).toEqual(["Deployment/web"]);
    expect(index.changes("a")).not.toBe(a);
    expect(index.changes("b")).not.toBe(0);
  });
});
