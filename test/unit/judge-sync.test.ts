import { describe, expect, it } from "vitest";
import { judgeSync } from "../../agent/edge/edge-client.js";

const C = "c".repeat(40);
const rootSync = (errors: { sync?: string[]; source?: string[] }) => ({
  metadata: { generation: 2 },
  status: {
    observedGeneration: 2,
    conditions: [{ type: "Syncing", status: "False" }],
    sync: { commit: C, ...(errors.sync ? { errors: errors.sync.map((errorMessage) => ({ errorMessage })) } : {}) },
    ...(errors.source ? { source: { errors: errors.source.map((errorMessage) => ({ errorMessage })) } } : {}),
  },
});
const same = async () => true;

describe("the sync predicate's attribution of errors", () => {
  it("fails an intent on an error that names one of its objects, namespaced or its Namespace", async () => {
    expect(
      await judgeSync(rootSync({ sync: ["KNV2009: failed to apply ConfigMap/a-chain/c: denied"] }), C, "a-chain", same),
    ).toMatchObject({ synced: false, failed: true });
    expect(
      await judgeSync(rootSync({ sync: ["KNV2009: failed to apply Namespace/a-chain: denied"] }), C, "a-chain", same),
    ).toMatchObject({ synced: false, failed: true });
  });

  it("does not blame an intent for another intent's objects, namespaced or cluster-scoped", async () => {
    for (const message of [
      "KNV2009: failed to apply Deployment/b-chain/web: denied",
      "KNV2009: failed to apply Namespace/b-chain: denied",
      "KNV2009: failed to apply ClusterRole/b-reader: denied",
    ]) {
      expect(await judgeSync(rootSync({ sync: [message] }), C, "a-chain", same)).toMatchObject({
        synced: true,
        errors: [],
      });
    }
  });

  it("waits, without failing, on source errors and on errors that name no object", async () => {
    const source = await judgeSync(
      rootSync({ source: ["KNV2004: unable to sync repo: fetch failed"] }),
      C,
      "a-chain",
      same,
    );
    expect(source).toMatchObject({ synced: false, reason: expect.stringContaining("cannot read or render") });
    expect(source.failed).toBeUndefined();
    const unnamed = await judgeSync(rootSync({ sync: ["KNV2009: the API server is overloaded"] }), C, "a-chain", same);
    expect(unnamed).toMatchObject({ synced: false });
    expect(unnamed.failed).toBeUndefined();
  });
});
