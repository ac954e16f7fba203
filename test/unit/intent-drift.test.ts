/** `camino intent drift`: its listing for people, and a bad `-o` refused before anything is asked. */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { intentDriftCommand, renderDrift } from "../../agent/cli/commands/intent-drift.js";
import { ObjectDriftSchema } from "../../gen/camino/v1/types_pb.js";

describe("camino intent drift", () => {
  it("lists per edge and package, a field absent on one side as (absent), and the edges it could not read", () => {
    const d = create(ObjectDriftSchema, {
      edge: "edge-2",
      package: "web",
      repository: "edge-2-deploy",
      path: "shop/web/deployment.yaml",
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "shop",
      name: "web",
      change: "changed",
      fields: [{ path: 'metadata.labels["team"]', want: "", have: '"ops"' }],
    });
    expect(renderDrift("shop", [d], ["edge-1: connection refused"])).toBe(
      [
        "edge edge-2 (repository edge-2-deploy)",
        "  package web",
        "    changed  Deployment/shop/web  (shop/web/deployment.yaml)",
        '      metadata.labels["team"]: (absent) → "ops"',
        "unknown: edge-1: connection refused",
        "",
      ].join("\n"),
    );
  });

  it("refuses an unknown -o naming the flag and the formats, before connecting", async () => {
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {} };
    await expect(intentDriftCommand.run(["shop", "-o", "xml"], io)).rejects.toThrow(
      '-o must be text, json or yaml (is "xml")',
    );
    await expect(intentDriftCommand.run([], io)).rejects.toThrow("give exactly one deployed intent NAME");
  });
});
