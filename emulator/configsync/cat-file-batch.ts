/**
 * One long-lived `git cat-file --batch` per repository: objects by id (or any name git resolves, such as
 * `refs/heads/main`) without a process per object. Requests are written one per line and answered in order,
 * each as `<oid> <type> <size>\n<content>\n` (or `<name> missing\n`), so many can be in flight at once; the
 * answers are cut out of the byte stream by their size, which is right for binary content too.
 *
 * git does not check an object against its id when it reads one; this class does, for every object, so a
 * corrupt object is an error and never content.
 */
import { GitBatchProcess, type GitBatchProcessOptions } from "./git-batch-process.js";
import { GitReadError } from "./git-read-error.js";
import { hashAlgorithmOf, isObjectId, objectId, type ObjectType } from "./git-objects.js";

export type CatFileBatchOptions = GitBatchProcessOptions;

/** An object read from the repository, checked against its id. */
export interface GitObject {
  oid: string;
  type: ObjectType;
  content: Buffer;
}

const TYPES: ReadonlySet<string> = new Set(["blob", "tree", "commit", "tag"]);

/** A `git cat-file --batch` process, started on the first read and again after a failure. */
export class CatFileBatch extends GitBatchProcess<string, GitObject | undefined> {
  /** Bytes of a header line not yet complete. */
  #head: Buffer[] = [];
  /** The object being received: its header and the buffer its content (and trailing LF) fills. */
  #body: { oid: string; type: ObjectType; data: Buffer; filled: number } | undefined;

  constructor(options: CatFileBatchOptions) {
    super(["cat-file", "--batch"], options);
  }

  /**
   * The object `name` names, or undefined when the repository has none of that name.
   * @throws GitReadError ERR_GIT_OBJECT_CORRUPT (content does not match its id), ERR_GIT_TIMEOUT, ERR_GIT_CLOSED,
   * ERR_GIT_COMMAND (git failed or could not start); TypeError for a name that cannot be asked (a line break).
   */
  read(name: string): Promise<GitObject | undefined> {
    if (name === "" || /[\n\r\0]/.test(name)) throw new TypeError(`cannot ask git for object ${JSON.stringify(name)}`);
    return this.ask(name, `${name}\n`);
  }

  protected override restart(): void {
    this.#head = [];
    this.#body = undefined;
  }

  /** Header lines, then exactly `size + 1` bytes of content. */
  protected override receive(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const body = this.#body;
      if (body) {
        const n = Math.min(body.data.length - body.filled, chunk.length - at);
        chunk.copy(body.data, body.filled, at, at + n);
        body.filled += n;
        at += n;
        if (body.filled === body.data.length) {
          this.#body = undefined;
          this.#complete(body.oid, body.type, body.data);
        }
        continue;
      }
      const nl = chunk.indexOf(0x0a, at);
      if (nl < 0) {
        this.#head.push(chunk.subarray(at));
        return;
      }
      this.#head.push(chunk.subarray(at, nl));
      at = nl + 1;
      const line = Buffer.concat(this.#head).toString("utf8");
      this.#head = [];
      this.#header(line);
    }
  }

  #header(line: string): void {
    const name = this.next;
    if (name === undefined)
      throw new GitReadError("ERR_GIT_COMMAND", `git cat-file answered what was not asked: ${line}`);
    if (line === `${name} missing`) {
      this.answer(undefined);
      return;
    }
    if (line === `${name} ambiguous`) {
      this.refuse(new GitReadError("ERR_GIT_OBJECT_MISSING", `${name} names more than one object`, { data: { name } }));
      return;
    }
    const m = /^([0-9a-f]{40}|[0-9a-f]{64}) (\S+) (\d+)$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3] || !TYPES.has(m[2]))
      throw new GitReadError("ERR_GIT_COMMAND", `git cat-file answered ${JSON.stringify(line)} for ${name}`);
    // The content and the line feed git writes after it.
    this.#body = { oid: m[1], type: m[2] as ObjectType, data: Buffer.allocUnsafe(Number(m[3]) + 1), filled: 0 };
  }

  #complete(oid: string, type: ObjectType, data: Buffer): void {
    const name = this.next as string;
    // Out of step with the stream: nothing after this can be trusted to answer its request.
    if (data[data.length - 1] !== 0x0a || (isObjectId(name) && name !== oid))
      throw new GitReadError("ERR_GIT_COMMAND", `git cat-file's answer for ${name} is out of step`);
    const content = data.subarray(0, data.length - 1);
    const actual = objectId(type, content, hashAlgorithmOf(oid));
    if (actual === oid) this.answer({ oid, type, content });
    else
      this.refuse(
        new GitReadError(
          "ERR_GIT_OBJECT_CORRUPT",
          `object ${oid} is corrupt: its content (${type}, ${content.length} bytes) hashes to ${actual}`,
          { data: { oid, type, actual } },
        ),
      );
  }
}
