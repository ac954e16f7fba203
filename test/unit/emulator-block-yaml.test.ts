/**
 * The emulated ConfigSync's reader of block YAML: for every text it either gives what `yaml` gives (the values of
 * the non-empty documents) or declines (undefined), never something else; and it does not decline what CAMINO
 * writes into repositories (blueprint files, the agent's emitter).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { plainYaml } from "../../agent/cad/plain-yaml.js";
import { readBlockYaml } from "../../emulator/configsync/block-yaml.js";
import { ROOT } from "../helpers/agent-process.js";

/** What `yaml` reads: the non-empty documents' values, or "error". */
function yamlReads(text: string): unknown[] | "error" {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  if (list.some((d) => d.errors.length > 0)) return "error";
  return list.map((d) => d.toJS() as unknown).filter((v) => v !== null && v !== undefined);
}

/** Asserts the reader agrees with `yaml` on `text`; returns whether it read it (did not decline). */
function agrees(text: string): boolean {
  const got = readBlockYaml(text);
  if (got === undefined) return false;
  expect(got.filter((v) => v !== null)).toStrictEqual(yamlReads(text));
  return true;
}

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && (/\.ya?ml$/.test(e.name) || e.name === "Kptfile"))
    .map((e) => join(e.parentPath, e.name));

describe("readBlockYaml", () => {
  it("reads every blueprint file as yaml does", () => {
    const files = yamlFiles(join(ROOT, "blueprints"));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(agrees(readFileSync(f, "utf8")), f).toBe(true);
  });

  it("agrees with yaml on the repository's test fixtures, or declines them", () => {
    for (const f of yamlFiles(join(ROOT, "test", "fixtures"))) agrees(readFileSync(f, "utf8"));
  });

  it("reads whatever the agent's emitter writes as the data it was given", () => {
    const key = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== "<<" && k !== "__proto__");
    const leaf = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom("true", "null", "1.5", "0x1F", "a: b", "- x", "#c", " lead", "", "~", ".inf", 'q"\\\n\u00e9'),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { maxDepth: 3 },
        leaf,
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(key, tie("node"), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }), (obj) => {
        const text = plainYaml(obj);
        const got = readBlockYaml(text);
        // Node's comparison: vitest's takes an own `constructor` key (which fast-check makes) for the object's type.
        expect(
          isDeepStrictEqual(got, [JSON.parse(JSON.stringify(obj))]),
          `${text} read as ${JSON.stringify(got)}`,
        ).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ["nested mappings and sequences", "a:\n  b: 1\n  c:\n  - x\n  - y: 2\n    z: [] # c\nd: {}\n"],
    ["compact mappings in a sequence", "- name: a\n  args:\n    - \"-s\"\n    - '5201'\n- -p\n-\n  k: v\n"],
    ["sequences in a sequence", "- - a\n  - - b\n    - c\n- d\n"],
    ["documents", "---\na: 1\n---\n# only a comment\n---\nb: 2\n"],
    [
      "core schema scalars",
      "a: 0o17\nb: 0x1F\nc: +5\nd: 1.50\ne: .5e3\nf: -.Inf\ng: .NaN\nh: ~\ni: TRUE\nj: yes\nk: 1_000\n",
    ],
    ["comments and colons", "url: http://x:80/p # port\nv6: 2001:db8::1\nhash: a#b\n'it''s': \"a: b\"\n"],
    ["JSON escapes", 'a: "q\\"\\u00e9\\/"\n"k\\ty": 1\n'],
    ["a key's value on the next line", "a:\n  b\nc: 1\n"],
  ])("reads %s as yaml does", (_, text) => {
    expect(agrees(text)).toBe(true);
  });

  it.each([
    ["a key twice", "a: 1\na: 2\n"],
    ["a nested mapping on one line", "a: b: c\n"],
    ["a multi-line plain scalar", "a: b\n  c\n"],
    ["a less indented key", "a:\n  b: 1\n c: 2\n"],
    ["a sequence item more indented than the first", "- - a\n   - b\n"],
    ["anchors and aliases", "a: &x 1\nb: *x\n"],
    ["a tag", "a: !!str 1\n"],
    ["a block scalar", "a: |\n  x\n"],
    ["a flow mapping", "a: {b: 1}\n"],
    ["an escape JSON lacks", 'a: "\\x41"\n'],
    ["a key that is not a string", "1: a\n"],
    ["a tab", "a:\tb\n"],
    ["a merge key", "<<: {}\n"],
  ])("declines %s", (_, text) => {
    expect(readBlockYaml(text)).toBeUndefined();
  });
});
