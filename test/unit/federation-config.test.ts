/**
 * The segment settings of the `federation` config section: the lease and reconcile periods, and each peer's
 * quota, parsed into numbers, every bad value refused with its field path.
 */
import { describe, expect, it } from "vitest";
import { Checker } from "../../common/checker.js";
import { parseFederationSection } from "../../agent/config/federation-section.js";

const section = (extra: Record<string, unknown> = {}, peer: Record<string, unknown> = {}) => ({
  tls: { certFile: "peer.pem", keyFile: "peer-key.pem" },
  refreshIntervalSeconds: 5,
  peers: [{ id: "domain-y", endpoint: "https://127.0.0.1:50062", caFile: "y-ca.pem", jwksFile: "y.jwks", ...peer }],
  ...extra,
});

function parse(v: unknown) {
  const c = new Checker();
  const out = parseFederationSection(c, v, "/etc/camino", "domain-x");
  return { out, issues: c.issues };
}

describe("segment settings of the federation section", () => {
  it("defaults the lease to 30 s and the reconcile period to the refresh interval; no quota means no limit", () => {
    const { out, issues } = parse(section());
    expect(issues).toEqual([]);
    expect(out?.segmentLeaseSeconds).toBe(30);
    expect(out?.segmentReconcileSeconds).toBe(5);
    expect(out?.peers[0]?.quota).toBeUndefined();
    expect(out?.peers[0]?.allow).toContain("RenewSegment");
  });

  it("reads a peer's quota as millicores, bytes and a count", () => {
    const { out, issues } = parse(
      section(
        { segmentLeaseSeconds: 10, segmentReconcileSeconds: 2 },
        { quota: { cpu: "2500m", memory: "4Gi", segments: 3 } },
      ),
    );
    expect(issues).toEqual([]);
    expect(out?.segmentLeaseSeconds).toBe(10);
    expect(out?.segmentReconcileSeconds).toBe(2);
    expect(out?.peers[0]?.quota).toEqual({ cpuMillis: 2500, memoryBytes: 4 * 1024 ** 3, segments: 3 });
  });

  it("refuses a bad quota and bad periods, naming each field", () => {
    const { issues } = parse(
      section(
        { segmentLeaseSeconds: 0, segmentReconcileSeconds: "soon" },
        { quota: { cpu: "lots", memory: "1Gi", extra: 1 } },
      ),
    );
    const paths = issues.map((i) => i.path).sort();
    expect(paths).toEqual([
      "federation.peers[0].quota.cpu",
      "federation.peers[0].quota.extra",
      "federation.peers[0].quota.segments",
      "federation.segmentLeaseSeconds",
      "federation.segmentReconcileSeconds",
    ]);
    expect(issues.find((i) => i.path.endsWith("quota.cpu"))?.message).toMatch(/"lots" is not a quantity/);
  });
});
