import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Journal, JournalError, type DeploymentRecord } from "../../agent/orchestration/journal.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "camino-journal-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

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

/**
 * Files created in or renamed into a folder, counted per name from the kernel's own reports (inotify, through
 * fs.watch): a witness of the journal's writes that does not ask the journal. Each write of a record ends in a
 * rename onto `<intent>.json`, so the renames onto it are the writes of it.
 */
function renamesIn(dir: string) {
  const counts = new Map<string, number>();
  const watcher = watch(dir, (type, name) => {
    if (type === "rename" && name) counts.set(name, (counts.get(name) ?? 0) + 1);
  });
  cleanups.push(() => watcher.close());
  const count = (name: string) => counts.get(name) ?? 0;
  const until = (name: string, n: number) =>
    vi.waitFor(() => expect(count(name), `events for ${name}`).toBeGreaterThanOrEqual(n), {
      timeout: 4_000,
      interval: 5,
    });
  let markers = 0;
  return {
    count,
    until,
    /** Waits until every event of what happened before the call has arrived (the kernel reports them in order). */
    async settle(): Promise<void> {
      const marker = `marker-${++markers}`;
      await writeFile(join(dir, marker), "");
      await until(marker, 1);
    },
  };
}

describe("the deployment journal", () => {
  it("writes records with owner-only permissions and reads them back", async () => {
    const dir = await tempDir();
    const j = new Journal(dir);
    await j.load();
    const r = record("video-chain");
    r.touched = { "edge-1-deploy": "a".repeat(40) };
    await j.save(r);
    const file = join(dir, "deployments", "video-chain.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "deployments"))).toEqual(["video-chain.json"]);
    const back = await new Journal(dir).load();
    expect(back).toEqual([r]);
  });

  it("replaces a record atomically: a reader during many saves only ever finds a whole record", async () => {
    const dir = await tempDir();
    const j = new Journal(dir);
    await j.load();
    const file = join(dir, "deployments", "big.json");
    // Records of 200 KiB to 1 MiB: writing one takes a while, so a reader often lands in the middle of a write.
    const versions = Array.from({ length: 8 }, (_, i) => {
      const r = record("big", i + 1);
      r.events = Array.from({ length: 1_500 + ((i * 7_919) % 5_000) }, (_, k) => ({
        time: new Date(k).toISOString(),
        package: `pkg-${k % 13}`,
        state: "SYNCED",
        reason: `revision ${i + 1}, event ${k}`,
        kind: "progress",
        wave: k % 4,
      }));
      return r;
    });
    const texts = versions.map((r) => JSON.stringify(r));
    await j.save(versions[0]!);

    const seen = new Set<number>();
    const broken: string[] = [];
    let reads = 0;
    let done = false;
    const reader = (async () => {
      while (!done) {
        const text = await readFile(file, "utf8").catch((err: unknown) => `unreadable: ${String(err)}`);
        reads++;
        const i = texts.indexOf(text);
        if (i >= 0) seen.add(i);
        else broken.push(`read ${reads}: ${text.length} characters: ${text.slice(0, 60)}…${text.slice(-20)}`);
      }
    })();
    for (const r of versions.slice(1)) await j.save(r);
    done = true;
    await reader;

    expect(broken).toEqual([]);
    // The reader really read while the saves went on (else this shows nothing).
    expect(seen.size, `revisions seen in ${reads} reads`).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(versions.at(-1));
  }, 30_000); // bound by the disk: the fsyncs take under a second here, several on a busy machine

  it("a crash between writing the new record and renaming it leaves the old record, loaded as it was", async () => {
    const dir = await tempDir();
    const old = record("video-chain", 1);
    old.state = "COMMITTED";
    await new Journal(dir).save(old);
    // What a process killed mid-write leaves: its temporary file, half written, beside the intact record.
    const next = record("video-chain", 2);
    next.state = "READY";
    const text = JSON.stringify(next);
    writeFileSync(join(dir, "deployments", "video-chain.json.4242.tmp"), text.slice(0, text.length >> 1));

    const loaded = await new Journal(dir).load();
    expect(loaded).toEqual([old]);
    // The torn write was never acknowledged: it is dropped.
    expect(readdirSync(join(dir, "deployments"))).toEqual(["video-chain.json"]);
  });

  it("coalesces writes behind: one write for calls made together, one more for calls made during a write", async () => {
    const dir = await tempDir();
    const j = new Journal(dir);
    await j.load();
    const deployments = join(dir, "deployments");
    const file = join(deployments, "a.json");
    const tmp = `a.json.${process.pid}.tmp`;
    const writes = renamesIn(deployments);
    const errors: unknown[] = [];
    const r = record("a");
    const later = (state: DeploymentRecord["state"], step: number) => {
      r.state = state;
      r.reason = `step ${step}`;
      j.saveLater(r, (err) => errors.push(err));
    };

    // Four changes in one go: written once, the latest.
    later("ADMITTED", 1);
    later("COMMITTED", 2);
    later("SYNCED", 3);
    later("READY", 4);
    await j.flush();
    await writes.settle();
    expect(writes.count("a.json")).toBe(1);
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ state: "READY", reason: "step 4" });

    // A change whose write is under way, then three more: they wait for it and are written once, together.
    later("DEGRADED", 5);
    // Each write creates its temporary file and renames it away: this is the second write's file appearing.
    await writes.until(tmp, 3);
    later("READY", 6);
    later("DEGRADED", 7);
    later("READY", 8);
    await j.flush();
    await writes.settle();
    expect(writes.count("a.json")).toBe(3);
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ state: "READY", reason: "step 8" });
    expect(errors).toEqual([]);
  });

  it("resolves a write behind only once the record as it was at the call is on disk", async () => {
    const dir = await tempDir();
    const j = new Journal(dir);
    await j.load();
    const r = record("a");
    r.state = "COMMITTED";
    const first = j.saveLater(r, () => undefined);
    r.state = "SYNCED";
    const second = j.saveLater(r, () => undefined);
    await first;
    // Both calls came before the write started: it holds the later state, and both are answered by it.
    expect(JSON.parse(readFileSync(join(dir, "deployments", "a.json"), "utf8")).state).toBe("SYNCED");
    await second;
    expect(j.stats.records).toBe(1);
  });

  it("shares one fsync of the folder among the records renamed into it together", async () => {
    const dir = await tempDir();
    const j = new Journal(dir);
    await j.load();
    await Promise.all(Array.from({ length: 40 }, (_, i) => j.save(record(`chain-${i}`))));
    expect(j.stats.records).toBe(40);
    expect(j.stats.fileSyncs).toBe(40);
    // The first rename's sync starts alone; the renames ready meanwhile share the next ones.
    expect(j.stats.folderSyncs).toBeLessThan(20);
    expect((await new Journal(dir).load()).map((x) => x.intent).sort()).toHaveLength(40);
  });

  it.each([
    [
      "truncated",
      (f: string) => writeFileSync(f, '{"id":"bad.1","intent":"bad","revis'),
      /bad\.json: truncated or not JSON/,
    ],
    ["empty", (f: string) => writeFileSync(f, ""), /bad\.json: empty \(truncated\)/],
    ["not JSON", (f: string) => writeFileSync(f, "state: READY\n"), /bad\.json: truncated or not JSON/],
    [
      "not a record",
      (f: string) => writeFileSync(f, '{"intent":"other"}'),
      /bad\.json: not a deployment record: intent is "other"/,
    ],
    ["unreadable", (f: string) => mkdirSync(f), /bad\.json: unreadable \(EISDIR\)/],
  ])(
    "refuses a journal with a record that is %s, naming the file and the way to recover; never changes it",
    async (_, spoil, what) => {
      const dir = await tempDir();
      await new Journal(dir).save(record("good"));
      const file = join(dir, "deployments", "bad.json");
      spoil(file);
      const before = readdirSync(join(dir, "deployments"));
      const err = await new Journal(dir).load().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(JournalError);
      expect((err as Error).message).toMatch(what);
      expect((err as Error).message).toContain("camino recover --from-repositories");
      expect(readdirSync(join(dir, "deployments"))).toEqual(before);
      // What recover reads: the good record, and the bad file with why.
      const seen = await new Journal(dir).inspect();
      expect(seen.records.map((r) => r.intent)).toEqual(["good"]);
      expect(seen.unreadable.map((u) => u.file)).toEqual([file]);
    },
  );

  it("refuses a data folder whose journal folder is gone, but starts an empty one on a data folder that never had one", async () => {
    const dir = await tempDir();
    expect(await new Journal(dir).load()).toEqual([]);
    await new Journal(dir).save(record("kept"));
    rmSync(join(dir, "deployments"), { recursive: true });
    await expect(new Journal(dir).load()).rejects.toThrow(/deployments: the journal folder is missing/);
  });
});
