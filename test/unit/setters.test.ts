/** kpt setter semantics: a table of what a field becomes, and the YAML around it left as it was. */
import { parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { applySetters, SetterValueError } from "../../agent/cad/setters.js";
import { parseYamlFile, stringifyYamlFile } from "../../agent/cad/yaml-io.js";

function run(yaml: string, values: Record<string, string>) {
  const docs = parseYamlFile("t.yaml", yaml);
  const result = applySetters(docs[0]!, values);
  return { text: stringifyYamlFile(docs), value: docs[0]!.toJS() as Record<string, unknown>, ...result };
}

/** [case, YAML, values, expected field value (as JSON), expected text fragment]. */
const CASES: [string, string, Record<string, string>, unknown, string][] = [
  [
    "a whole scalar",
    "image: nginx # kpt-set: ${image}\n",
    { image: "envoy" },
    "envoy",
    "image: envoy # kpt-set: ${image}",
  ],
  [
    "a substring",
    "name: app-svc # kpt-set: ${app}-svc\n",
    { app: "web" },
    "web-svc",
    "name: web-svc # kpt-set: ${app}-svc",
  ],
  [
    "several setters in one value",
    "image: nginx:1.0 # kpt-set: ${image}:${tag}\n",
    { image: "envoy", tag: "1.29" },
    "envoy:1.29",
    "image: envoy:1.29",
  ],
  ["a number kept a number", "replicas: 1 # kpt-set: ${replicas}\n", { replicas: "3" }, 3, "replicas: 3 # kpt-set"],
  ["a boolean kept a boolean", "enabled: false # kpt-set: ${on}\n", { on: "true" }, true, "enabled: true"],
  ["a string field given digits stays a string", "tag: v1 # kpt-set: ${tag}\n", { tag: "2" }, "2", 'tag: "2"'],
  ["a quoted field keeps its quotes", 'tag: "1.0" # kpt-set: ${tag}\n', { tag: "1.1" }, "1.1", 'tag: "1.1" # kpt-set'],
  ["a number field given text becomes text", "port: 80 # kpt-set: ${port}\n", { port: "http" }, "http", "port: http"],
  [
    "a newline injection stays one string",
    "name: a # kpt-set: ${name}\n",
    { name: "x\nkind: Secret" },
    "x\nkind: Secret",
    "name: |-",
  ],
  [
    "template braces stay a string",
    "name: a # kpt-set: ${name}\n",
    { name: "{{ .Values.x }}" },
    "{{ .Values.x }}",
    'name: "{{ .Values.x }}"',
  ],
  ["a colon-space value stays a string", "v: a # kpt-set: ${v}\n", { v: "a: b" }, "a: b", 'v: "a: b"'],
  ["a comment marker in a value stays a string", "v: a # kpt-set: ${v}\n", { v: "x # y" }, "x # y", 'v: "x # y"'],
  [
    "a block list on the key line",
    "args: # kpt-set: ${args}\n  - a\n",
    { args: "[b, c]" },
    ["b", "c"],
    "args: # kpt-set: ${args}\n  - b\n  - c",
  ],
  [
    "a block list from block YAML",
    "args: # kpt-set: ${args}\n  - a\n",
    { args: "- x\n- y" },
    ["x", "y"],
    "  - x\n  - y",
  ],
  ["a flow list", "env: [a] # kpt-set: ${env}\n", { env: "[p, q]" }, ["p", "q"], "env: [p, q] # kpt-set: ${env}"],
  [
    "a JSON list (read as YAML reads it: every item one string)",
    "hosts: # kpt-set: ${hosts}\n  - a\n",
    { hosts: '["spiffe://td/ns/a/sa/b", 8080, "x: y", "[z]"]' },
    ["spiffe://td/ns/a/sa/b", "8080", "x: y", "[z]"],
    '  - spiffe://td/ns/a/sa/b\n  - "8080"\n  - "x: y"\n  - "[z]"',
  ],
  [
    "a missing setter leaves the field",
    "image: nginx # kpt-set: ${image}\n",
    {},
    "nginx",
    "image: nginx # kpt-set: ${image}",
  ],
  [
    "a partly missing pattern leaves the field",
    "image: nginx:1 # kpt-set: ${image}:${tag}\n",
    { image: "e" },
    "nginx:1",
    "image: nginx:1",
  ],
  [
    "a setter named like an Object method has no value by inheritance",
    "v: keep # kpt-set: ${toString}\n",
    {},
    "keep",
    "v: keep # kpt-set: ${toString}",
  ],
  [
    "an unrelated comment is not a setter",
    "image: nginx # set: ${image}\n",
    { image: "e" },
    "nginx",
    "image: nginx # set",
  ],
];

describe("applySetters", () => {
  it.each(CASES)("%s", (_, yaml, values, expected, fragment) => {
    const key = Object.keys(parseDocument(yaml).toJS() as object)[0]!;
    const r = run(yaml, values);
    expect(r.value[key]).toEqual(expected);
    expect(r.text).toContain(fragment);
  });

  it("reports unresolved setters with their field paths, and which values were used", () => {
    const r = run("spec:\n  template:\n    spec:\n      containers:\n        - image: a # kpt-set: ${image}:${tag}\n", {
      image: "x",
    });
    expect(r.unresolved).toEqual([{ setter: "tag", path: "spec.template.spec.containers[0].image" }]);
    expect([...r.used]).toEqual([]);
  });

  it("keeps comments, key order and the other documents of the file", () => {
    const yaml = "# head comment\nkind: A\nz: 1 # kpt-set: ${z}\na: keep # plain comment\n---\nkind: B\n";
    const docs = parseYamlFile("t.yaml", yaml);
    applySetters(docs[0]!, { z: "2" });
    expect(stringifyYamlFile(docs)).toBe(
      "# head comment\nkind: A\nz: 2 # kpt-set: ${z}\na: keep # plain comment\n---\nkind: B\n",
    );
  });

  it("round-trips an untouched file byte for byte", () => {
    const yaml =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x # kpt-set: ${name}\ndata:\n  list: # kpt-set: ${l}\n    - a\n  flow: [a, b]\n  q: "quoted"\n';
    expect(stringifyYamlFile(parseYamlFile("t.yaml", yaml))).toBe(yaml);
  });

  it("refuses a list setter given something that is not a list", () => {
    expect(() => run("args: # kpt-set: ${args}\n  - a\n", { args: "{a: 1}" })).toThrow(SetterValueError);
    expect(() => run("args: # kpt-set: ${args}\n  - a\n", { args: "[[nested]]" })).toThrow("list of scalars");
    expect(() => run("args: # kpt-set: ${args}\n  - a\n", { args: '[["nested"]]' })).toThrow("list of scalars");
    expect(() => run("args: # kpt-set: ${args}\n  - a\n", { args: '[{"a": 1}]' })).toThrow("list of scalars");
  });
});
