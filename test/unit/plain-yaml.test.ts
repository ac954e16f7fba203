/** The plain-data emitter: whatever it writes, YAML reads back as the same data. */
import fc from "fast-check";
import { parse } from "yaml";
import { expect, it } from "vitest";
import { plainYaml } from "../../agent/cad/plain-yaml.js";

it("round-trips arbitrary JSON data through a YAML parser", () => {
  const key = fc.string({ minLength: 1, maxLength: 12 });
  const leaf = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(
      "true",
      "null",
      "1.5",
      "0x1F",
      "a: b",
      "- x",
      "#c",
      " lead",
      "trail ",
      "",
      "~",
      "1e3",
      ".inf",
      "yes",
    ),
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
      expect(parse(plainYaml(obj))).toEqual(obj);
    }),
    { numRuns: 500 },
  );
});

it("writes a Kptfile the way a person would", () => {
  expect(
    plainYaml({
      apiVersion: "kpt.dev/v1",
      kind: "Kptfile",
      metadata: { name: "web", annotations: { "config.kubernetes.io/local-config": "true" } },
      upstream: { git: { directory: "/cnf/web", ref: "v1" } },
    }),
  ).toBe(
    'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: web\n  annotations:\n    config.kubernetes.io/local-config: "true"\nupstream:\n  git:\n    directory: /cnf/web\n    ref: v1\n',
  );
});
