/** Real kubectl (on the machine image) against an emulated cluster: no kubeconfig, a fresh cache per run. */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  (args: string[], stdin?: string): Promise<KubectlResult>;
  /** Writes a manifest to a temp file and returns its path. */
  file(text: string): string;
}

export function kubectlFor(server: string, auth: { token?: string; caFile?: string } = {}): Kubectl {
  const home = mkdtempSync(join(tmpdir(), "camino-kubectl-"));
  const base = [
    "--server",
    server,
    "--cache-dir",
    join(home, "cache"),
    ...(auth.token ? ["--token", auth.token] : []),
    ...(auth.caFile ? ["--certificate-authority", auth.caFile] : []),
  ];
  let n = 0;
  const run = ((args: string[], stdin?: string) =>
    new Promise<KubectlResult>((resolve) => {
      const child = execFile(
        "kubectl",
        [...base, ...args],
        { env: { PATH: process.env["PATH"] ?? "", HOME: home, KUBECONFIG: "/dev/null" }, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (stdin !== undefined) child.stdin?.end(stdin);
    })) as Kubectl;
  run.file = (text: string) => {
    const f = join(home, `manifest-${n++}.yaml`);
    writeFileSync(f, text);
    return f;
  };
  return run;
}
