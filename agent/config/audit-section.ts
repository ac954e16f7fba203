/** The `audit` section of the agent config: how large the audit log grows before it rotates, and how much is kept. */
import type { Checker } from "../../common/checker.js";

/** The `audit` section, parsed: every field is set. The log itself lives at `<domain.dataDir>/audit/audit.log`. */
export interface AuditConfig {
  /** The current file rotates when a write would take it past this many bytes. Default 10 MiB. */
  maxBytes: number;
  /** Files kept, the current one included (`audit.log`, `audit.log.1`, … `audit.log.<files-1>`). Default 5. */
  files: number;
}

/** Defaults of the `audit` section: at most 5 × 10 MiB of audit records on disk. */
export const AUDIT_DEFAULTS = {
  maxBytes: 10 * 1024 * 1024,
  files: 5,
} as const;

/** Checks the `audit` section; problems are added to `c` with their paths. */
export function parseAuditSection(c: Checker, v: unknown): AuditConfig {
  const o = c.object(v, "audit", ["maxBytes", "files"]) ?? {};
  return {
    // 4 KiB at least: a file must hold a few records, or every write rotates.
    maxBytes: c.integer(o["maxBytes"], "audit.maxBytes", 4096, 1024 * 1024 * 1024) ?? AUDIT_DEFAULTS.maxBytes,
    files: c.integer(o["files"], "audit.files", 2, 100) ?? AUDIT_DEFAULTS.files,
  };
}
