/**
 * The process table as `ps` shows it (an independent witness of what a component left running): the git
 * processes descended from this test process, with the command line every user of the machine can read.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** A process as `ps` lists it. */
export interface ProcessRow {
  pid: number;
  ppid: number;
  /** The full command line. */
  args: string;
}

/** Every process on the machine. */
export async function processTable(): Promise<ProcessRow[]> {
  const { stdout } = await promisify(execFile)("ps", ["-e", "-o", "pid=,ppid=,args="], { maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: (m[3] ?? "").trim() }));
}

/** Every process descended from `root` (default this process), `ps` itself left out. */
export async function descendants(root = process.pid): Promise<ProcessRow[]> {
  const table = await processTable();
  const children = new Map<number, ProcessRow[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcessRow[] = [];
  const stack = [...(children.get(root) ?? [])];
  for (let p = stack.pop(); p; p = stack.pop()) {
    if (!p.args.startsWith("ps -e -o")) out.push(p);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** The git processes (git, git-remote-http, …) among the descendants of `root` (default this process). */
export async function gitDescendants(root = process.pid): Promise<ProcessRow[]> {
  return (await descendants(root)).filter((p) => /(^|\/)git(-[\w-]+)?(\s|$)|\[git/.test(p.args));
}
