/**
 * The audit log on disk: size rotation that keeps at most N files and cuts no record, concurrent appends that all
 * land as whole lines, a failing disk that never throws at the caller, and the reader's view in time order.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createAuditLog, type AuditLog } from "../../agent/audit/audit-log.js";
import { readAuditLog } from "../../agent/audit/audit-reader.js";
import { createLogger } from "../../agent/log/logger.js";
import { parseConfig } from "../../agent/config/config.js";
import { ConfigError } from "../../agent/errors.js";

const root = mkdtempSync(join(tmpdir(), "camino-audit-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `log-${++n}`);

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ stream: { write: (s: string) => lines.push(JSON.parse(s)) } });
  return { logger, lines };
}

function appendNumbered(log: AuditLog, from: number, count: number): void {
  for (let i = from; i < from + count; i++) {
    log.append({
      caller: { kind: "user", subject: "alice", issuer: "domain-x" },
      method: "camino.v1.DomainManager/SubmitIntent",
      target: `intent-${i}`,
      outcome: "ok",
    });
  }
}

/** Every line of every file parses as a whole record. */
function allLines(dir: string): string[] {
  return readdirSync(dir).flatMap((f) =>
    readFileSync(join(dir, f), "utf8")
      .split("\n")
      .filter((l) => l !== ""),
  );
}

describe("audit log rotation", () => {
  it("rotates by size, never past the byte limit, and loses no record while the files hold them", async () => {
    const dir = freshDir();
    const { logger } = captureLogger();
    const log = createAuditLog({ dir, maxBytes: 4096, files: 5, logger });
    await log.open();
    // Three appends in separate turns (three batches), then one burst: rotation happens inside a batch too.
    appendNumbered(log, 0, 10);
    await log.flush();
    appendNumbered(log, 10, 10);
    await log.flush();
    appendNumbered(log, 20, 60);
    await log.close();

    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThan(2);
    expect(files.length).toBeLessThanOrEqual(5);
    for (const f of files) expect(statSync(join(dir, f)).size, f).toBeLessThanOrEqual(4096);
    for (const line of allLines(dir)) expect(() => JSON.parse(line)).not.toThrow();
    const { records, skipped } = await readAuditLog(dir);
    expect(skipped).toBe(0);
    expect(records.map((r) => r.target)).toEqual(Array.from({ length: 80 }, (_, i) => `intent-${i}`));
  });

  it("keeps at most N files: the oldest go, and what is kept is the newest records without a gap", async () => {
    const dir = freshDir();
    const { logger } = captureLogger();
    const log = createAuditLog({ dir, maxBytes: 2048, files: 3, logger });
    for (let round = 0; round < 20; round++) {
      appendNumbered(log, round * 25, 25);
      await log.flush();
    }
    await log.close();

    expect(readdirSync(dir).sort()).toEqual(["audit.log", "audit.log.1", "audit.log.2"]);
    const targets = (await readAuditLog(dir)).records.map((r) => Number(r.target.slice("intent-".length)));
    // About 3 files × 2 KiB of ~190-byte records: the newest ~30, in order and contiguous up to the last.
    expect(targets.length).toBeGreaterThan(15);
    expect(targets.at(-1)).toBe(499);
    expect(targets).toEqual(Array.from({ length: targets.length }, (_, i) => 500 - targets.length + i));
  });

  it("drops rotated files beyond the count when a config keeps fewer than before", async () => {
    const dir = freshDir();
    const { logger } = captureLogger();
    const wide = createAuditLog({ dir, maxBytes: 1024, files: 6, logger });
    appendNumbered(wide, 0, 60);
    await wide.close();
    expect(readdirSync(dir)).toHaveLength(6);
    const narrow = createAuditLog({ dir, maxBytes: 1024, files: 2, logger });
    appendNumbered(narrow, 60, 10);
    await narrow.close();
    expect(readdirSync(dir).sort()).toEqual(["audit.log", "audit.log.1"]);
  });
});

describe("audit log writes", () => {
  it("keeps every record of many concurrent callers, each on a whole line", async () => {
    const dir = freshDir();
    const { logger, lines } = captureLogger();
    const log = createAuditLog({ dir, maxBytes: 64 * 1024, files: 50, logger });
    const callers = Array.from({ length: 200 }, async (_, c) => {
      for (let i = 0; i < 10; i++) {
        // Interleave the callers across turns of the event loop, as concurrent RPCs would.
        await new Promise<void>((resolve) => setImmediate(resolve));
        log.append({
          caller: { kind: "peer", domain: `domain-${c}` },
          method: "camino.v1.Federation/GetSegment",
          target: `seg-${c}-${i}`,
          outcome: "ok",
        });
      }
    });
    await Promise.all(callers);
    await log.close();

    const parsed = allLines(dir).map((l) => JSON.parse(l) as { target: string });
    expect(parsed).toHaveLength(2000);
    expect(new Set(parsed.map((r) => r.target)).size).toBe(2000);
    expect(readdirSync(dir).length).toBeGreaterThan(1);
    expect(lines.filter((l) => l["level"] === "error")).toEqual([]);
  });

  it("never throws at the caller when the disk fails, and says so once", async () => {
    const notADir = join(root, "a-file");
    writeFileSync(notADir, "");
    const { logger, lines } = captureLogger();
    const log = createAuditLog({ dir: join(notADir, "audit"), logger });
    for (let i = 0; i < 5; i++) {
      expect(() =>
        log.append({ caller: undefined, method: "camino.v1.DomainManager/DeleteRepository", outcome: "ok" }),
      ).not.toThrow();
      await log.flush();
    }
    await log.close();
    const errors = lines.filter((l) => l["level"] === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ msg: "audit records are being dropped", error: "ENOTDIR" });
  });

  it("bounds strings from requests: no control characters, no line breaks, a capped length", async () => {
    const dir = freshDir();
    const { logger } = captureLogger();
    const log = createAuditLog({ dir, logger });
    log.append({
      caller: { kind: "user", subject: 'mallory\n{"forged":true}', issuer: "x" },
      method: "camino.v1.DomainManager/TerminateIntent",
      target: `a\u2028b${"z".repeat(5000)}`,
      outcome: "ok",
    });
    await log.close();
    const lines = allLines(dir);
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0] as string);
    expect(r.caller.subject).toBe('mallory?{"forged":true}');
    expect(r.target.length).toBe(256);
    expect(r.target.startsWith("a?bzzz")).toBe(true);
  });
});

describe("readAuditLog", () => {
  it("filters by time, peer and method, and names a missing log", async () => {
    const dir = freshDir();
    const { logger } = captureLogger();
    const log = createAuditLog({ dir, logger });
    const at = (iso: string) => new Date(iso);
    log.append({
      time: at("2026-12-01T10:00:00Z"),
      caller: { kind: "peer", domain: "domain-y" },
      method: "camino.v1.Federation/ProposeSegment",
      target: "s1",
      outcome: "ok",
    });
    log.append({
      time: at("2026-12-02T10:00:00Z"),
      caller: { kind: "peer", domain: "domain-z" },
      method: "camino.v1.Federation/ProposeSegment",
      target: "s2",
      outcome: "PERMISSION_DENIED",
      error: "ERR_PEER_POLICY",
    });
    log.append({
      time: at("2026-12-02T11:00:00Z"),
      caller: { kind: "user", subject: "alice", issuer: "domain-x" },
      method: "camino.v1.DomainManager/SubmitIntent",
      target: "chain",
      outcome: "ok",
    });
    await log.close();
    const targets = async (f: Parameters<typeof readAuditLog>[1]) =>
      (await readAuditLog(dir, f)).records.map((r) => r.target);
    expect(await targets({})).toEqual(["s1", "s2", "chain"]);
    expect(await targets({ since: at("2026-12-02T00:00:00Z") })).toEqual(["s2", "chain"]);
    expect(await targets({ peer: "domain-y" })).toEqual(["s1"]);
    expect(await targets({ method: "submitintent" })).toEqual(["chain"]);
    expect(await targets({ method: "camino.v1.Federation/ProposeSegment", peer: "domain-z" })).toEqual(["s2"]);
    await expect(readAuditLog(join(root, "nowhere"))).rejects.toMatchObject({ code: "ERR_INPUT_UNREADABLE" });
  });
});

describe("the audit config section", () => {
  const base = { domain: { id: "domain-x" }, auth: { signingKeyFile: "k.jwk" } };
  it("defaults to 5 files of 10 MiB, and takes other sizes", () => {
    expect(parseConfig(base, { baseDir: "/etc/camino" }).audit).toEqual({ maxBytes: 10 * 1024 * 1024, files: 5 });
    expect(parseConfig({ ...base, audit: { maxBytes: 65536, files: 3 } }, { baseDir: "/" }).audit).toEqual({
      maxBytes: 65536,
      files: 3,
    });
  });

  it("names each bad value", () => {
    let issues: string[] = [];
    try {
      parseConfig({ ...base, audit: { maxBytes: 100, files: 1, dir: "/tmp" } }, { baseDir: "/" });
    } catch (err) {
      if (err instanceof ConfigError) issues = err.issues.map((i) => i.path);
    }
    expect(issues.sort()).toEqual(["audit.dir", "audit.files", "audit.maxBytes"]);
  });
});
