/** The sync predicate (docs/configuration-as-data.md, RootSync registration) on RootSync objects: commits, generations, error attribution, malformed statuses. */
import { describe, expect, it } from "vitest";
import { judgeSync } from "../../agent/edge/sync-predicate.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const rs = (status: Record<string, unknown>, generation = 2) => ({
  metadata: { generation },
  status: { observedGeneration: 2, conditions: [{ type: "Syncing", status: "False" }], ...status },
});
/** A RootSync at commit A with the given sync and source error messages. */
const at = (errors: { sync?: string[]; source?: string[] }) =>
  rs({
    sync: { commit: A, ...(errors.sync ? { errors: errors.sync.map((errorMessage) => ({ errorMessage })) } : {}) },
    ...(errors.source ? { source: { errors: errors.source.map((errorMessage) => ({ errorMessage })) } } : {}),
  });
const never = async () => false;
const same = async () => true;

describe("the sync predicate", () => {
  it("is synced at the commit or a descendant, and not before the edge reaches it or observes its spec", async () => {
    expect(await judgeSync(rs({ sync: { commit: A } }), A, "x", never)).toMatchObject({ synced: true, commit: A });
    expect(await judgeSync(rs({ sync: { commit: B } }), A, "x", never)).toMatchObject({
      synced: false,
      reason: expect.stringContaining("not yet at aaaaaaaaaaaa"),
    });
    expect(await judgeSync(rs({ sync: { commit: B } }), A, "x", same)).toMatchObject({ synced: true });
    expect(await judgeSync(rs({ sync: { commit: A } }, 3), A, "x", never)).toMatchObject({
      synced: false,
      reason: expect.stringContaining("generation 3"),
    });
    expect(
      await judgeSync(rs({ sync: { commit: A }, conditions: [{ type: "Syncing", status: "True" }] }), A, "x", never),
    ).toMatchObject({ synced: false, reason: "the edge is syncing" });
  });

  it("fails an intent on an error that names one of its objects, namespaced or its Namespace", async () => {
    expect(
      await judgeSync(at({ sync: ["KNV2009: failed to apply ConfigMap/a-chain/c: denied"] }), A, "a-chain", same),
    ).toMatchObject({ synced: false, failed: true });
    expect(
      await judgeSync(at({ sync: ["KNV2009: failed to apply Namespace/a-chain: denied"] }), A, "a-chain", same),
    ).toMatchObject({ synced: false, failed: true });
  });

  it("does not blame an intent for another intent's objects, namespaced or cluster-scoped", async () => {
    for (const message of [
      "KNV2009: failed to apply Deployment/b-chain/web: denied",
      "KNV2009: failed to apply Namespace/b-chain: denied",
      "KNV2009: failed to apply ClusterRole/b-reader: denied",
    ]) {
      expect(await judgeSync(at({ sync: [message] }), A, "a-chain", same)).toMatchObject({ synced: true, errors: [] });
    }
  });

  it("waits, without failing, on source errors and on errors that name no object", async () => {
    const source = await judgeSync(at({ source: ["KNV2004: unable to sync repo: fetch failed"] }), A, "a-chain", same);
    expect(source).toMatchObject({ synced: false, reason: expect.stringContaining("cannot read or render") });
    expect(source.failed).toBeUndefined();
    const invalid = await judgeSync(at({ source: ["KNV1007: x.yaml is not valid YAML"] }), A, "mine", never);
    expect(invalid).toMatchObject({ synced: false });
    const unnamed = await judgeSync(at({ sync: ["KNV2009: the API server is overloaded"] }), A, "a-chain", same);
    expect(unnamed).toMatchObject({ synced: false });
    expect(unnamed.failed).toBeUndefined();
    const unknownKind = await judgeSync(at({ sync: ['KNV1021: no matches for kind "Widget"'] }), A, "mine", never);
    expect(unknownKind).toMatchObject({ synced: false });
    expect(unknownKind.failed).toBeUndefined();
  });

  it("tolerates malformed statuses instead of throwing", async () => {
    expect(
      await judgeSync({ metadata: {}, status: { sync: { commit: 5, errors: "nope" } } }, A, "x", never),
    ).toMatchObject({ synced: false, reason: "the RootSync has not synced any commit yet" });
    expect(await judgeSync(rs({ sync: { commit: A, errors: [null, { code: 1 }] } }), A, "x", never)).toMatchObject({
      synced: false,
    });
    expect(await judgeSync({}, A, "x", never)).toMatchObject({ synced: false });
  });
});
