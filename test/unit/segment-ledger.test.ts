/**
 * The peer's segment ledger with a fake clock: reservations under a lease (renewed, or released on their own),
 * commits fenced by (segment id, generation) — refused after the lease, repeated with the first answer, older
 * generations refused — updates as new generations beside the running one, exported blueprints only, and
 * per-origin quotas.
 */
import { describe, expect, it } from "vitest";
import { SegmentLedger, type LedgerPackage, type SegmentQuota } from "../../federation/segment-ledger.js";

function setup(quota?: SegmentQuota) {
  let t = Date.parse("2026-12-02T12:00:00Z");
  const ledger = new SegmentLedger({
    leaseMs: 10_000,
    quotaOf: (origin) => (origin === "domain-x" ? quota : undefined),
    exported: (b) => b !== "internal-only",
    now: () => new Date(t),
  });
  return { ledger, advance: (ms: number) => (t += ms) };
}

const pkg = (name: string, cpuMillis = 500, blueprint = "video-analytics"): LedgerPackage => ({
  name,
  blueprint,
  cpuMillis,
  memoryBytes: 256 * 2 ** 20,
});
const proposal = (generation: number, packages = [pkg("cnf3")]) => ({
  origin: "domain-x",
  segmentId: "paper-chain.domain-y",
  intent: "paper-chain",
  generation,
  packages,
});
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe("the segment ledger", () => {
  it("reserves under a lease, idempotently, and commits within it", () => {
    const { ledger, advance } = setup();
    const first = ledger.propose(proposal(1));
    expect(first.reserved).toBe(true);
    expect(first.segment.state).toBe("RESERVED");
    expect(first.segment.leaseExpiresAt.toISOString()).toBe("2026-12-02T12:00:10.000Z");
    expect(ledger.propose(proposal(1)).reserved).toBe(false);
    advance(9_000);
    const c = ledger.commit("domain-x", "paper-chain.domain-y", 1);
    expect(c).toMatchObject({ repeated: false, segment: { state: "COMMITTED", committedGeneration: 1 } });
  });

  it("a commit after the lease is refused (and the reservation released); a renewed lease keeps it", () => {
    const { ledger, advance } = setup();
    ledger.propose(proposal(1));
    advance(8_000);
    expect(ledger.renew("domain-x", "paper-chain.domain-y", 1).toISOString()).toBe("2026-12-02T12:00:18.000Z");
    advance(9_000);
    expect(codeOf(() => ledger.commit("domain-x", "paper-chain.domain-y", 1))).toBe("ok");

    const other = setup();
    other.ledger.propose(proposal(1));
    other.advance(10_000);
    expect(codeOf(() => other.ledger.commit("domain-x", "paper-chain.domain-y", 1))).toBe("ERR_SEGMENT_LEASE_EXPIRED");
    expect(other.ledger.get("domain-x", "paper-chain.domain-y")?.state).toBe("EXPIRED");
    expect(codeOf(() => other.ledger.renew("domain-x", "paper-chain.domain-y", 1))).toBe("ERR_SEGMENT_LEASE_EXPIRED");
  });

  it("a reservation nobody commits is released on its own when its lease ends", () => {
    const { ledger, advance } = setup();
    ledger.propose(proposal(1));
    advance(5_000);
    expect(ledger.expire()).toEqual([]);
    advance(5_000);
    expect(ledger.expire().map((s) => s.state)).toEqual(["EXPIRED"]);
    expect(ledger.expire()).toEqual([]);
  });

  it("a repeated commit of the same generation returns the first answer; an older generation is refused", () => {
    const { ledger } = setup();
    ledger.propose(proposal(1));
    const first = ledger.commit("domain-x", "paper-chain.domain-y", 1);
    const again = ledger.commit("domain-x", "paper-chain.domain-y", 1);
    expect(again.repeated).toBe(true);
    expect(again.segment).toEqual(first.segment);
    ledger.propose(proposal(2, [pkg("cnf3", 700)]));
    ledger.commit("domain-x", "paper-chain.domain-y", 2);
    expect(codeOf(() => ledger.commit("domain-x", "paper-chain.domain-y", 1))).toBe("ERR_SEGMENT_STALE_GENERATION");
    expect(codeOf(() => ledger.propose(proposal(1)))).toBe("ERR_SEGMENT_STALE_GENERATION");
  });

  it("an update is a new generation beside the running one; aborted or expired, the running one stays", () => {
    const { ledger, advance } = setup();
    ledger.propose(proposal(1));
    ledger.commit("domain-x", "paper-chain.domain-y", 1);
    const update = ledger.propose(proposal(2, [pkg("cnf3", 900)]));
    expect(update.segment).toMatchObject({ state: "RESERVED", generation: 2, committedGeneration: 1 });
    ledger.abort("domain-x", "paper-chain.domain-y", 2);
    expect(ledger.get("domain-x", "paper-chain.domain-y")).toMatchObject({ state: "COMMITTED", generation: 1 });
    ledger.propose(proposal(3, [pkg("cnf3", 900)]));
    advance(10_000);
    expect(ledger.expire()).toHaveLength(1);
    expect(ledger.get("domain-x", "paper-chain.domain-y")).toMatchObject({
      state: "COMMITTED",
      generation: 1,
      packages: [pkg("cnf3")],
    });
  });

  it("the same generation with other packages is refused: an update needs a new generation", () => {
    const { ledger } = setup();
    ledger.propose(proposal(1));
    expect(codeOf(() => ledger.propose(proposal(1, [pkg("cnf3", 999)])))).toBe("ERR_SEGMENT_CONFLICT");
  });

  it("only exported blueprints, and within the origin's quota: PERMISSION_DENIED with the reason", () => {
    const { ledger } = setup({ cpuMillis: 1000, memoryBytes: 2 ** 30, segments: 2 });
    expect(codeOf(() => ledger.propose(proposal(1, [pkg("cnf3", 100, "internal-only")])))).toBe("ERR_PEER_DENIED");
    expect(ledger.list()).toEqual([]);
    ledger.propose(proposal(1, [pkg("cnf3", 600)]));
    try {
      ledger.propose({ ...proposal(1, [pkg("cnf9", 600)]), segmentId: "other" });
      throw new Error("not refused");
    } catch (err) {
      expect((err as Error).message).toMatch(/1200m CPU \(quota 1000m\)/);
    }
    // An update counts the running generation and the new one together until one of them ends.
    ledger.commit("domain-x", "paper-chain.domain-y", 1);
    expect(codeOf(() => ledger.propose(proposal(2, [pkg("cnf3", 500)])))).toBe("ERR_PEER_DENIED");
    expect(codeOf(() => ledger.propose(proposal(2, [pkg("cnf3", 400)])))).toBe("ok");
    // Another origin has no quota here.
    expect(codeOf(() => ledger.propose({ ...proposal(1, [pkg("big", 50_000)]), origin: "domain-z" }))).toBe("ok");
  });

  it("terminate ends a segment and frees what it held", () => {
    const { ledger } = setup({ cpuMillis: 1000, memoryBytes: 2 ** 30, segments: 1 });
    ledger.propose(proposal(1, [pkg("cnf3", 900)]));
    ledger.commit("domain-x", "paper-chain.domain-y", 1);
    expect(codeOf(() => ledger.propose({ ...proposal(1, [pkg("x", 100)]), segmentId: "s2" }))).toBe("ERR_PEER_DENIED");
    expect(ledger.terminate("domain-x", "paper-chain.domain-y").state).toBe("TERMINATED");
    expect(codeOf(() => ledger.propose({ ...proposal(1, [pkg("x", 900)]), segmentId: "s2" }))).toBe("ok");
  });
});
