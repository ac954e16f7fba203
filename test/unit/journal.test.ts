import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Journal, type DeploymentRecord } from "../../agent/orchestration/journal.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function record(intent: string, revision = 1): DeploymentRecord {
  const at = new Date(0).toISOString();
  return {
    id: `${intent}.${revision}`,
    intent,
    revision,
    state: "PENDING",
    reason: "submitted",
    digest: "",
    deploymentDigest: "d",
    intentJson: {},
    timeoutMs: 1000,
    createdAt: at,
    updatedAt: at,
    packages: [],
    admission: [],
    touched: {},
    events: [],
  };
}

describe("the deployment journal", () => {
  it("writes records atomically with owner-only permissions and reads them back", async () => {
    const dir = mkdtempSync(join(process.cwd(), ".camino-journal-"));
    dirs.push(dir);
    const j = new Journal(dir);
    await j.load(() => undefined);
    const r = record("video-chain");
    r.touched = { "edge-1-deploy": "a".repeat(40) };
    await j.save(r);
    const file = join(dir, "deployments", "video-chain.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "deployments"))).toEqual(["video-chain.json"]);
    const back = await new Journal(dir).load(() => undefined);
    expect(back).toEqual([r]);
  });

  it("coalesces writes behind, keeping only the latest state", async () => {
    const dir = mkdtempSync(join(process.cwd(), ".camino-journal-"));
    dirs.push(dir);
    const j = new Journal(dir);
    await j.load(() => undefined);
    const r = record("a");
    for (const state of ["ADMITTED", "COMMITTED", "SYNCED", "READY"] as const) {
      r.state = state;
      j.saveLater(r, (err) => {
        throw err;
      });
    }
    await j.flush();
    expect(JSON.parse(readFileSync(join(dir, "deployments", "a.json"), "utf8")).state).toBe("READY");
  });

  it("reports an unreadable record and still loads the others", async () => {
    const dir = mkdtempSync(join(process.cwd(), ".camino-journal-"));
    dirs.push(dir);
    const j = new Journal(dir);
    await j.save(record("good"));
    writeFileSync(join(dir, "deployments", "bad.json"), "{ half a rec");
    const bad: string[] = [];
    const loaded = await new Journal(dir).load((f) => bad.push(f));
    expect(loaded.map((x) => x.intent)).toEqual(["good"]);
    expect(bad).toEqual(["bad.json"]);
  });
});
