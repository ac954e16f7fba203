/** The sync predicate (DESIGN.md section 5) on RootSync objects, including malformed statuses and error attribution. */
import { describe, expect, it } from "vitest";
import { judgeSync } from "../../agent/edge/edge-client.js";

const rs = (status: Record<string, unknown>, generation = 2) => ({
  metadata: { generation },
  status: { observedGeneration: 2, conditions: [{ type: "Syncing", status: "False" }], ...status },
});
const never = async () => false;

describe("judgeSync", () => {
  it("is synced at the commit, and not before the edge reaches it", async () => {
    expect(await judgeSync(rs({ sync: { commit: "a".repeat(40) } }), "a".repeat(40), "x", never)).toMatchObject({
      synced: true,
    });
    expect(await judgeSync(rs({ sync: { commit: "b".repeat(40) } }), "a".repeat(40), "x", never)).toMatchObject({
      synced: false,
      reason: expect.stringContaining("not yet at aaaaaaaaaaaa"),
    });
    expect(
      await judgeSync(rs({ sync: { commit: "b".repeat(40) } }), "a".repeat(40), "x", async () => true),
    ).toMatchObject({ synced: true });
    expect(await judgeSync(rs({ sync: { commit: "a".repeat(40) } }, 3), "a".repeat(40), "x", never)).toMatchObject({
      synced: false,
      reason: expect.stringContaining("generation 3"),
    });
  });

  it("blocks on errors that name the intent or no object, not on another intent's", async () => {
    const at = (errors: unknown[]) =>
      judgeSync(rs({ sync: { commit: "a".repeat(40), errors } }), "a".repeat(40), "mine", never);
    expect(await at([{ code: "2009", errorMessage: "KNV2009: failed to apply ConfigMap/mine/c: x" }])).toMatchObject({
      synced: false,
    });
    expect(await at([{ code: "2009", errorMessage: "KNV2009: failed to apply ConfigMap/theirs/c: x" }])).toMatchObject({
      synced: true,
    });
    expect(await at([{ code: "1021", errorMessage: 'KNV1021: no matches for kind "Widget"' }])).toMatchObject({
      synced: false,
    });
    expect(
      await judgeSync(
        rs({
          sync: { commit: "a".repeat(40) },
          source: { errors: [{ code: "1007", errorMessage: "KNV1007: x.yaml is not valid YAML" }] },
        }),
        "a".repeat(40),
        "mine",
        never,
      ),
    ).toMatchObject({ synced: false });
  });

  it("tolerates malformed statuses instead of throwing", async () => {
    expect(
      await judgeSync({ metadata: {}, status: { sync: { commit: 5, errors: "nope" } } }, "a".repeat(40), "x", never),
    ).toMatchObject({ synced: false });
    expect(
      await judgeSync(
        rs({ sync: { commit: "a".repeat(40), errors: [null, { code: 1 }] } }),
        "a".repeat(40),
        "x",
        never,
      ),
    ).toMatchObject({ synced: false });
  });
});
