/**
 * OpenAPI v3 as much as kubectl needs: the index of group-version documents, and per document a path per
 * kind whose operations carry `x-kubernetes-group-version-kind` and the `fieldValidation` and `dryRun`
 * query parameters — so kubectl sends `fieldValidation=Strict` and leaves validation to the server.
 */
import { groupVersion, type ResourceType } from "./resources.js";
import type { TypeRegistry } from "./type-registry.js";

const docPath = (g: { group: string; version: string }) =>
  g.group ? `apis/${g.group}/${g.version}` : `api/${g.version}`;

export function openApiIndex(types: TypeRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const gv of types.groupVersions()) paths[docPath(gv)] = { serverRelativeURL: `/openapi/v3/${docPath(gv)}` };
  return { paths };
}

const param = (name: string) => ({ name, in: "query", schema: { type: "string", uniqueItems: true } });

function operations(t: ResourceType, withName: boolean): Record<string, unknown> {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const write = {
    parameters: [param("dryRun"), param("fieldManager"), param("fieldValidation")],
    "x-kubernetes-group-version-kind": gvk,
    responses: { "200": { description: "OK" } },
  };
  const ops: Record<string, unknown> = {
    get: { "x-kubernetes-group-version-kind": gvk, responses: { "200": { description: "OK" } } },
  };
  if (withName) {
    ops["put"] = write;
    ops["patch"] = { ...write, parameters: [...write.parameters, param("force")] };
    ops["delete"] = {
      parameters: [param("dryRun")],
      "x-kubernetes-group-version-kind": gvk,
      responses: { "200": { description: "OK" } },
    };
  } else {
    ops["post"] = write;
  }
  return ops;
}

/** The document of one group version (e.g. "apis/apps/v1"), or undefined. */
export function openApiDocument(types: TypeRegistry, path: string): Record<string, unknown> | undefined {
  const gv = types.groupVersions().find((g) => docPath(g) === path);
  if (!gv) return undefined;
  const paths: Record<string, unknown> = {};
  for (const t of types.all().filter((x) => x.group === gv.group && x.version === gv.version)) {
    const base = `/${docPath(gv)}${t.namespaced ? "/namespaces/{namespace}" : ""}/${t.plural}`;
    paths[base] = operations(t, false);
    paths[`${base}/{name}`] = operations(t, true);
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas: {} },
    "x-group-version": groupVersion(gv),
  };
}
