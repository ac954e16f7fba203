/**
 * One long-lived `git diff-tree --stdin -r -z --no-renames` per repository: the changed paths between two
 * trees, without a process per diff. git reads `<from tree> <to tree>` lines and answers each with that line
 * echoed, then its raw records ({@link parseChangedPaths}). It would hold the answers in its buffer until
 * stdin ends, but it echoes and flushes at once any line that is not an object id, so each request is followed
 * by such a line ({@link END}): its echo marks where the answer ends and makes git send it.
 */
import { parseChangedPaths, type ChangedPath } from "./changed-paths.js";
import { GitBatchProcess, type GitBatchProcessOptions } from "./git-batch-process.js";
import { GitReadError } from "./git-read-error.js";
import { isObjectId } from "./git-objects.js";

export type DiffTreeBatchOptions = GitBatchProcessOptions;

/** The line after each request; not an object id, so git echoes it and flushes. */
const END = Buffer.from("--end--\n");
const COLON = 0x3a;

interface Request {
  /** The request line as git echoes it. */
  echo: Buffer;
}

/** A `git diff-tree --stdin` process, started on the first diff and again after a failure. */
export class DiffTreeBatch extends GitBatchProcess<Request, ChangedPath[]> {
  #buffer: Buffer = Buffer.alloc(0);

  constructor(options: DiffTreeBatchOptions) {
    super(["diff-tree", "--stdin", "-r", "-z", "--no-renames"], options);
  }

  /**
   * The files that differ between two trees (every file under a folder added or deleted is listed).
   * @throws GitReadError ERR_GIT_TIMEOUT, ERR_GIT_CLOSED, ERR_GIT_COMMAND; TypeError for an argument that is not an id.
   */
  diff(fromTree: string, toTree: string): Promise<ChangedPath[]> {
    if (!isObjectId(fromTree) || !isObjectId(toTree)) throw new TypeError("diff() takes two tree ids");
    const line = `${fromTree} ${toTree}\n`;
    return this.ask({ echo: Buffer.from(line) }, `${line}${END.toString()}`);
  }

  protected override restart(): void {
    this.#buffer = Buffer.alloc(0);
  }

  protected override receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (let answer = this.#cut(); answer; answer = this.#cut()) this.answer(parseChangedPaths(answer));
  }

  /** The records of the next complete answer, taken off the buffer; undefined until it has all arrived. */
  #cut(): Buffer | undefined {
    const buf = this.#buffer;
    if (buf.length === 0) return undefined;
    const request = this.next;
    if (!request) throw new GitReadError("ERR_GIT_COMMAND", "git diff-tree answered what was not asked");
    const { echo } = request;
    if (buf.length < echo.length) return undefined;
    if (!buf.subarray(0, echo.length).equals(echo))
      throw new GitReadError("ERR_GIT_COMMAND", "git diff-tree's answer is out of step with its requests");
    // Records, each `:<modes> <ids> <status>` NUL `<path>` NUL (two paths for a rename or copy), then the END echo.
    let at = echo.length;
    for (;;) {
      if (buf.length - at < 1) return undefined;
      if (buf[at] !== COLON) {
        if (buf.length - at < END.length) return undefined;
        if (!buf.subarray(at, at + END.length).equals(END))
          throw new GitReadError("ERR_GIT_COMMAND", "git diff-tree wrote something that is not a record");
        this.#buffer = buf.subarray(at + END.length);
        return buf.subarray(echo.length, at);
      }
      const headEnd = buf.indexOf(0, at);
      if (headEnd < 0) return undefined;
      // The status letter ends the record's head, but for a score after R and C.
      const status = buf.toString("latin1", at, headEnd).replace(/\d+$/, "").slice(-1);
      let next = headEnd + 1;
      for (let paths = status === "R" || status === "C" ? 2 : 1; paths > 0; paths--) {
        const end = buf.indexOf(0, next);
        if (end < 0) return undefined;
        next = end + 1;
      }
      at = next;
    }
  }
}
