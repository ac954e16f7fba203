/**
 * Trust between domains' meshes (agent/network/mesh-trust.ts): one record per (edge, peer), shared by the chains
 * that link to the peer and removed with the last of them; the ConfigMap istiod reads, hydrated from the
 * mesh-trust blueprint; and the edge's install settings reported, never written.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBlueprint, type Blueprint } from "../../agent/cad/blueprint.js";
import type { ResolvedBlueprint } from "../../agent/cad/catalogue.js";
import { readFolder } from "../../agent/cad/folder.js";
import { HydrationCache } from "../../agent/cad/hydration-cache.js";
import type { EdgeMesh } from "../../agent/edge/mesh-install.js";
import { SegmentOfferError } from "../../agent/network/cross-domain.js";
import {
  addTrust,
  fingerprintOf,
  readTrustRecords,
  removeTrust,
  trustFiles,
  trustInstallProblems,
  type PeerRoot,
  type TrustRecord,
} from "../../agent/network/mesh-trust.js";
import { objectsOf } from "../../agent/orchestration/package-objects.js";
import { validateObject } from "../../common/schema.js";
import { makePki } from "../helpers/tls.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const blueprints = new Map<string, Blueprint>();
const catalogue = {
  async resolve(name: string): Promise<ResolvedBlueprint> {
    const blueprint = blueprints.get(name) as Blueprint;
    return {
      blueprint,
      repository: { record: { name: "catalogue", url: "file:///c" } } as never,
      revision: "main",
      commit: "c".repeat(40),
    };
  },
};
const options = { catalogue, hydration: new HydrationCache() };
const dirs: string[] = [];
let y: PeerRoot;
let z: PeerRoot;

beforeAll(async () => {
  for (const name of readdirSync(join(ROOT, "blueprints", "network")))
    blueprints.set(name, readBlueprint(`network/${name}`, await readFolder(join(ROOT, "blueprints", "network", name))));
  const pem = () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-trust-"));
    dirs.push(dir);
    return makePki(dir).ca;
  };
  y = { peer: "domain-y", trustDomain: "domain-y.camino", pem: pem() };
  z = { peer: "domain-z", trustDomain: "domain-z.camino", pem: pem() };
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The files an edge's `_camino/trust/` holds for these records. */
const filesOf = (records: readonly TrustRecord[]) =>
  trustFiles("edge-1", records, { domain: "domain-x", repository: "edge-1-deploy" }, options);

/** The caCertificates istiod would read from those files. */
async function trustedRoots(records: readonly TrustRecord[]) {
  const objects = objectsOf(await filesOf(records)) as {
    kind: string;
    metadata: { name: string; namespace: string };
    data: { mesh: string };
  }[];
  if (objects.length === 0) return [];
  expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
    "ConfigMap/istio-system/camino-mesh-trust",
  ]);
  for (const o of objects) expect(validateObject(o as never)).toEqual([]);
  return (parseYaml(objects[0]?.data.mesh ?? "") as { caCertificates: { pem: string; trustDomains: string[] }[] })
    .caCertificates;
}

describe("peer mesh roots on an edge", () => {
  it("are one record per peer, shared by the chains that need it, each root limited to its peer's trust domain", async () => {
    let records = addTrust([], y, "chain-a");
    records = addTrust(records, y, "chain-b");
    records = addTrust(records, z, "chain-b");
    expect(records.map((r) => [r.peer, r.users])).toEqual([
      ["domain-y", ["chain-a", "chain-b"]],
      ["domain-z", ["chain-b"]],
    ]);
    const files = await filesOf(records);
    expect([...files.keys()].filter((p) => p.startsWith("_camino/trust/peers/"))).toEqual([
      "_camino/trust/peers/domain-y.yaml",
      "_camino/trust/peers/domain-z.yaml",
    ]);
    expect(readTrustRecords(files)).toEqual(records);
    expect(await trustedRoots(records)).toEqual([
      { pem: y.pem, trustDomains: ["domain-y.camino"] },
      { pem: z.pem, trustDomains: ["domain-z.camino"] },
    ]);
  });

  it("stay while another chain uses them: rolling back one chain never removes a root another still needs", async () => {
    const records = addTrust(addTrust(addTrust([], y, "chain-a"), y, "chain-b"), z, "chain-b");
    const afterB = removeTrust(records, "chain-b");
    expect(await trustedRoots(afterB)).toEqual([{ pem: y.pem, trustDomains: ["domain-y.camino"] }]);
    const afterA = removeTrust(afterB, "chain-a");
    expect(afterA).toEqual([]);
    expect([...(await filesOf(afterA)).keys()]).toEqual([]);
  });

  it("are refused when the offer's fingerprint is not the root's, or a peer's root changes under chains that use it", () => {
    expect(() => addTrust([], { ...y, fingerprint: "ab".repeat(32) }, "chain-a")).toThrow(SegmentOfferError);
    expect(addTrust([], { ...y, fingerprint: fingerprintOf(y.pem) }, "chain-a")).toHaveLength(1);
    const records = addTrust([], y, "chain-a");
    expect(() => addTrust(records, { ...y, pem: z.pem }, "chain-b")).toThrow(/offers root .* but this edge trusts/);
    expect(() => addTrust([], { ...y, pem: "not a certificate" }, "chain-a")).toThrow(/is not a PEM certificate/);
  });
});

describe("an edge's multi-root install settings", () => {
  const mesh: EdgeMesh = {
    edge: "edge-1",
    network: "net-1",
    multiRoot: true,
    xdsAgent: true,
    dnsProxy: true,
    sharedMeshConfig: "camino-mesh-trust",
    problems: [],
  };
  it("are reported when missing, naming each setting", () => {
    expect(trustInstallProblems(mesh)).toEqual([]);
    expect(trustInstallProblems({ ...mesh, multiRoot: false, xdsAgent: false, sharedMeshConfig: "other" })).toEqual([
      "edge edge-1: istiod does not set ISTIO_MULTIROOT_MESH=true, so it trusts one root only",
      "edge edge-1: the mesh's proxy metadata does not set PROXY_CONFIG_XDS_AGENT=true, so proxies do not take peer roots",
      'edge edge-1: istiod\'s SHARED_MESH_CONFIG is "other", not camino-mesh-trust, so it does not read the peer roots',
    ]);
  });
});
