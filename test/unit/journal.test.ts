import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
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

describe("the deployment journal", () => {
  it("writes records with owner-only permissions and reads them back; a graceful close leaves one file per intent", async () => {
    const dir = await tempDir();
    const j = new Journal(dir);
    await j.load();
    const r = record("video-chain");
    r.touched = { "edge-1-deploy": "a".repeat(40) };
    await j.save(r);
    // Appended to the log first.
    const [log] = readdirSync(join(dir, "deployments"));
    expect(log).toMatch(/^log-\d{10}\.jsonl$/);
    expect(statSync(join(dir, "deployments", log as string)).mode & 0o777).toBe(0o600);
    expect(await new Journal(dir).inspect()).toEqual({ records: [r], unreadable: [] });
    await j.close();
    const file = join(dir, "deployments", "video-chain.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "deployments"))).toEqual(["video-chain.json"]);
    const back = await new Journal(dir).load();
    expect(back).toEqual([r]);
  });

  it("replaces a record atomically: a reader during many saves only ever finds a whole record", async () => {
    const dir = await tempDir();
    // No fold during the test: the reader reads the log while it grows.
    const j = new Journal(dir, { maxLogBytes: 64 << 20 });
    await j.load();
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
        const { records, unreadable } = await new Journal(dir).inspect();
        reads++;
        const text = records.length === 1 ? JSON.stringify(records[0]) : `${records.length} records`;
        const i = texts.indexOf(text);
        if (i >= 0 && unreadable.length === 0) seen.add(i);
        else broken.push(`read ${reads}: ${text.slice(0, 60)}; unreadable: ${JSON.stringify(unreadable)}`);
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (const r of versions.slice(1)) await j.save(r);
    done = true;
    await reader;

    expect(broken).toEqual([]);
    // The reader really read while the saves went on (else this shows nothing).
    expect(seen.size, `revisions seen in ${reads} reads`).toBeGreaterThanOrEqual(3);
    expect(await new Journal(dir).load()).toEqual([versions.at(-1)]);
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

  it("coalesces writes behind: one record for calls made together, one more for calls made during a write", async () => {
    const dir = await tempDir();
    const j = new Journal(dir);
    await j.load();
    const deployments = join(dir, "deployments");
    // The log's lines, read from the file: a witness of the writes that does not ask the journal.
    const lines = () =>
      readdirSync(deployments)
        .filter((f) => f.endsWith(".jsonl"))
        .flatMap((f) => readFileSync(join(deployments, f), "utf8").split("\n").filter(Boolean))
        .map((l) => JSON.parse(l.slice(17)) as DeploymentRecord);
    const errors: unknown[] = [];
    const r = record("a");
    const later = (state: DeploymentRecord["state"], step: number) => {
      r.state = state;
      r.reason = `step ${step}`;
      return j.saveLater(r, (err) => errors.push(err));
    };

    // Four changes in one go: written once, the latest.
    later("ADMITTED", 1);
    later("COMMITTED", 2);
    later("SYNCED", 3);
    later("READY", 4);
    await j.flush();
    expect(lines().map((x) => x.reason)).toEqual(["step 4"]);

    // A change whose write is under way (appended, its fsync not yet done), then three more: they wait for it
    // and are written once, together.
    const fifth = later("DEGRADED", 5);
    await vi.waitFor(() => expect(lines()).toHaveLength(2), { timeout: 4_000, interval: 1 });
    later("READY", 6);
    later("DEGRADED", 7);
    const eighth = later("READY", 8);
    await fifth;
    await eighth;
    expect(lines().map((x) => `${x.state} ${x.reason}`)).toEqual(["READY step 4", "DEGRADED step 5", "READY step 8"]);
    expect(j.stats.records).toBe(3);
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
    expect((await new Journal(dir).inspect()).records.map((x) => x.state)).toEqual(["SYNCED"]);
    await second;
    expect(j.stats.records).toBe(1);
  });

  it("shares one fsync among the records ready together (a group commit)", async () => {
    const dir = await tempDir();
    const j = new Journal(dir);
    await j.load();
    await Promise.all(Array.from({ length: 40 }, (_, i) => j.save(record(`chain-${i}`))));
    expect(j.stats.records).toBe(40);
    // Made ready in one go: one append and one fdatasync; the folder's fsync makes the new log's name durable.
    expect(j.stats.fileSyncs).toBe(1);
    expect(j.stats.folderSyncs).toBe(1);
    expect((await new Journal(dir).load()).map((x) => x.intent)).toHaveLength(40);
  });

  it("folds a full log into one file per intent while saves go on; the latest record of each wins", async () => {
    const dir = await tempDir();
    const j = new Journal(dir, { maxLogBytes: 4_096 });
    await j.load();
    const latest = new Map<string, DeploymentRecord>();
    for (let step = 0; step < 60; step++) {
      const r = record(`chain-${step % 7}`, 1 + Math.floor(step / 7));
      r.reason = `step ${step}`;
      latest.set(r.intent, r);
      // Not awaited one by one: saves go on while the folds of earlier logs run.
      if (step % 3 === 2) await j.save(r);
      else void j.saveLater(r, (err) => expect.fail(String(err)));
    }
    await j.flush();
    const byIntent = [...latest.values()].sort((a, b) => a.intent.localeCompare(b.intent));
    // Read while logs and folded files are both there.
    expect((await new Journal(dir).inspect()).records).toEqual(byIntent);
    await j.close();
    // 60 records of about 400 bytes in logs of 4 KB: several folds, and the last at the close.
    expect(j.stats.folds).toBeGreaterThan(3);
    expect(readdirSync(join(dir, "deployments")).sort()).toEqual(byIntent.map((r) => `${r.intent}.json`));
    expect(await new Journal(dir).load()).toEqual(byIntent);
  });

  it("a fold cut short keeps its log and every later one: the next start reads the latest records and folds them", async () => {
    const dir = await tempDir();
    let hits = 0;
    const failpoints = {
      async hit(name: string) {
        if (name === "journal-fold" && ++hits === 2) throw new Error("cut short");
      },
    };
    const foldErrors: unknown[] = [];
    const j = new Journal(dir, { maxLogBytes: 2_048, failpoints, onFoldError: (e) => foldErrors.push(e) });
    await j.load();
    const latest = new Map<string, DeploymentRecord>();
    for (let step = 0; step < 40; step++) {
      const r = record(`chain-${step % 5}`, 1 + step);
      latest.set(r.intent, r);
      await j.save(r);
    }
    await j.close();
    expect(foldErrors.map(String)).toEqual(["Error: cut short"]);
    // The first record file of the failed fold was written, its log kept, and no later log folded.
    const names = readdirSync(join(dir, "deployments"));
    expect(names.filter((f) => f.endsWith(".jsonl")).length).toBeGreaterThan(1);

    const again = new Journal(dir);
    expect(await again.load()).toEqual([...latest.values()].sort((a, b) => a.intent.localeCompare(b.intent)));
    expect(readdirSync(join(dir, "deployments")).sort()).toEqual([...latest.keys()].sort().map((k) => `${k}.json`));
  });

  it("drops a log line cut short at its end, and refuses a log with a damaged line before good ones", async () => {
    const dir = await tempDir();
    const j = new Journal(dir);
    const first = record("a", 1);
    await j.save(first);
    const second = record("a", 2);
    await j.save(second);
    const deployments = join(dir, "deployments");
    const [log] = readdirSync(deployments);
    const file = join(deployments, log as string);
    const text = readFileSync(file, "utf8");
    const [one, two] = text.split("\n") as [string, string];

    // A crash in the middle of the second append: its line is cut short, never acknowledged.
    writeFileSync(file, `${one}\n${two.slice(0, 40)}`);
    expect(await new Journal(dir).inspect()).toEqual({ records: [first], unreadable: [] });

    // A byte changed in the first line, with a whole line after it: damage, not a cut.
    writeFileSync(file, `${one.slice(0, 30)}X${one.slice(31)}\n${two}\n`);
    const err = await new Journal(dir).load().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JournalError);
    expect((err as Error).message).toContain(`${file}: line 1: damaged (its checksum does not match)`);
    expect((err as Error).message).toContain("camino recover --from-repositories");
    // Refused, and left as it was.
    expect(readdirSync(deployments)).toEqual([log]);
    const seen = await new Journal(dir).inspect();
    expect(seen.records).toEqual([second]);
    expect(seen.unreadable.map((u) => u.file)).toEqual([file]);

    // Cut short after the damage: the damaged line is then the end of a write, and dropped.
    writeFileSync(file, `${one}\n${two}\n${one.slice(0, 30)}X${one.slice(31)}\n`);
    expect(await new Journal(dir).load()).toEqual([second]);
    expect(readdirSync(deployments)).toEqual(["a.json"]);
  });

  it("a process killed at any moment keeps every record it acknowledged, also in the middle of folds", async () => {
    const dir = await tempDir();
    const journalJs = join(import.meta.dirname, "../../dist/agent/orchestration/journal.js");
    // Five intents saved one revision after the other, each acknowledged on stdout once saved; logs of 8 KB, so
    // folds run all the time.
    const child = `
      const { Journal } = await import(process.env.JOURNAL_JS);
      const j = new Journal(process.env.DATA_DIR, { maxLogBytes: 8192 });
      const loaded = new Map((await j.load()).map((r) => [r.intent, r.revision]));
      const at = new Date(0).toISOString();
      const run = async (intent) => {
        for (let revision = (loaded.get(intent) ?? 0) + 1; ; revision++) {
          await j.save({ id: intent + "." + revision, intent, revision, state: "PENDING", reason: "r".repeat(300),
            digest: "", deploymentDigest: "d", intentJson: {}, timeoutMs: 1, createdAt: at, updatedAt: at,
            packages: [], admission: [], touched: {}, events: [] });
          process.stdout.write(intent + " " + revision + "\\n");
        }
      };
      for (let k = 0; k < 5; k++) void run("chain-" + k);`;
    const acked = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      const proc = spawn(process.execPath, ["--input-type=module", "-e", child], {
        env: { ...process.env, JOURNAL_JS: journalJs, DATA_DIR: dir },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const exited = new Promise((r) => proc.once("exit", r));
      let lines = 0;
      let rest = "";
      await new Promise<void>((resolve) => {
        proc.stdout.on("data", (chunk: Buffer) => {
          const parts = (rest + chunk.toString()).split("\n");
          rest = parts.pop() as string;
          for (const line of parts) {
            const [intent, revision] = line.split(" ") as [string, string];
            acked.set(intent, Number(revision));
            // Killed after a different number of acknowledgements each round.
            if (++lines === 150 + round * 97) {
              proc.kill("SIGKILL");
              resolve();
            }
          }
        });
      });
      await exited;
      const loaded = await new Journal(dir).load();
      expect(loaded.map((r) => r.intent)).toEqual([...acked.keys()].sort());
      for (const r of loaded) expect(r.revision, r.intent).toBeGreaterThanOrEqual(acked.get(r.intent) as number);
      // The start folded the logs: one file per intent.
      expect(readdirSync(join(dir, "deployments")).sort()).toEqual([...acked.keys()].sort().map((k) => `${k}.json`));
    }
  }, 30_000);

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
