/** A YAML request body that is JSON is read by JSON.parse, to the same value `yaml` gives, or left to `yaml`. */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseJsonAsYaml } from "../../emulator/json-as-yaml.js";

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "a", labels: { "app.kubernetes.io/name": "web" }, annotations: { "x/y": "a:b" } },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [{ name: "c", image: "r/i:1", args: ["-p", "5201", 'say "hi": \\ok'], env: [] }],
      },
    },
    ratio: 0.5,
    none: null,
    on: true,
  },
};

describe("parseJsonAsYaml", () => {
  it.each([
    ["compact", JSON.stringify(deployment)],
    ["indented", JSON.stringify(deployment, null, 2)],
    ["padded", `\n  ${JSON.stringify(deployment)}\n`],
    ["a list", JSON.stringify([deployment, 1, "s", [], {}])],
    ["escapes", '{"a":"\\u00e9\\n\\"\\\\:","b\\"c:":1}'],
    ["numbers", '{"a":-0,"b":1.0,"c":1e400,"d":-2.5e-3,"e":12345678901234567890}'],
    ["__proto__", '{"__proto__":{"x":1}}'],
  ])("reads %s JSON to the value yaml gives", (_, text) => {
    const value = parseJsonAsYaml(text);
    expect(value).not.toBeUndefined();
    expect(value).toStrictEqual(parse(text));
  });

  it("leaves a mapping with a key twice to yaml, which refuses it", () => {
    const text = '{"metadata":{"name":"a","name":"b"}}';
    expect(parseJsonAsYaml(text)).toBeUndefined();
    expect(() => parse(text)).toThrow(/unique/);
  });

  it("leaves YAML and JSON that JSON.parse refuses to yaml", () => {
    expect(parseJsonAsYaml("a: 1\n")).toBeUndefined();
    expect(parseJsonAsYaml('{"a": 1, b: 2}')).toBeUndefined();
    expect(parseJsonAsYaml('{"a":"\t"}')).toBeUndefined();
  });
});
