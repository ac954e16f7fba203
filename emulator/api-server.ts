/**
 * The emulated API server's request handling: routing by path as the real server routes (core `/api/v1`,
 * groups `/apis/<group>/<version>`, namespaced and cluster-scoped resources, subresources), the verbs get,
 * list, watch, create, update, patch (merge, strategic merge, server-side apply) and delete, `dryRun=All`,
 * `fieldValidation`, optimistic concurrency, and answers — objects, lists, Tables, watch streams and Status
 * errors — in the shapes kubectl and @kubernetes/client-node expect.
 */
import { applyServerDefaults } from "./defaults.js";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { recordUpdate, serverSideApply } from "./apply/server-side-apply.js";
import {
  aggregatedContentType,
  aggregatedDiscovery,
  aggregatedVersion,
  apiGroupList,
  apiResourceList,
  apiVersions,
  VERSION_INFO,
} from "./discovery.js";
import { parseJsonAsYaml } from "./json-as-yaml.js";
import { openApiDocument, openApiIndex } from "./openapi.js";
import { jsonMergePatch } from "./patch/merge-patch.js";
import { PatchError, strategicMergePatch } from "./patch/strategic-merge-patch.js";
import { groupVersion, type ResourceType } from "./resources.js";
import { matchesLabels, namedValues, parseFieldSelector, parseLabelSelector } from "./selectors.js";
import { validateWrite } from "./semantics.js";
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  forbidden,
  invalid,
  methodNotAllowed,
  notFound,
  unauthorized,
  unsupportedMediaType,
  type StatusCause,
} from "./status.js";
import type { KubeObject, ObjectStore, StoreEvent } from "./store.js";
import { toTable, wantsTable } from "./tables.js";
import { typeKey, type TypeRegistry } from "./type-registry.js";

export interface ApiServerOptions {
  store: ObjectStore;
  types: TypeRegistry;
  /** Bearer token required on every request when set (HTTPS listeners). */
  token?: string;
  /** The clock. */
  now?: () => Date;
  /** Largest request body in bytes. Default 3 MiB, as the real server. */
  maxBodyBytes?: number;
  /** How long a deleted namespace stays Terminating before its content and itself are gone. Default 200 ms. */
  namespaceFinalizeMs?: number;
}

/** Where a request points. */
export interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

type Obj = Record<string, unknown>;
const NAMESPACES = "/namespaces";

function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = "application/json",
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": contentType, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(text: string, contentType: string): Obj {
  let value: unknown;
  try {
    value = contentType.includes("yaml") ? (parseJsonAsYaml(text) ?? parseYaml(text)) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw badRequest("the body of the request must be an object");
  return value as Obj;
}

const meta = (o: Obj): Obj => {
  o["metadata"] ??= {};
  return o["metadata"] as Obj;
};
const clone = <T>(v: T): T => structuredClone(v);
/** The part of an object whose change bumps `metadata.generation`. */
const specOf = (o: Obj) =>
  JSON.stringify({ ...o, metadata: undefined, status: undefined, apiVersion: undefined, kind: undefined });

/** Deletes a field by its path ("spec.a[0].b"); used to prune unknown fields under fieldValidation=Warn/Ignore. */
function deletePath(o: Obj, path: string): void {
  const parts = path.match(/[^.[\]]+/g) ?? [];
  let at: unknown = o;
  for (const p of parts.slice(0, -1)) at = at && typeof at === "object" ? (at as Obj)[p] : undefined;
  if (at && typeof at === "object") delete (at as Obj)[parts[parts.length - 1] as string];
}

export class ApiServer {
  readonly #o: Required<Omit<ApiServerOptions, "token">> & { token?: string };

  constructor(options: ApiServerOptions) {
    this.#o = { now: () => new Date(), maxBodyBytes: 3 * 1024 * 1024, namespaceFinalizeMs: 200, ...options };
  }

  get #store(): ObjectStore {
    return this.#o.store;
  }

  /** Node's request handler. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.#dispatch(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const e =
        err instanceof ApiError
          ? err
          : err instanceof PatchError
            ? badRequest(err.message)
            : new ApiError(500, "InternalError", `Internal error occurred: ${(err as Error).message}`);
      send(res, e.code, e.toStatus());
    });
  };

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#o.token !== undefined && req.headers.authorization !== `Bearer ${this.#o.token}`) throw unauthorized();
    const url = new URL(req.url ?? "/", "http://emulator");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const accept = String(req.headers.accept ?? "");
    if (req.method === "GET") {
      if (path === "/version") return send(res, 200, VERSION_INFO);
      if (path === "/healthz" || path === "/readyz" || path === "/livez")
        return void res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      if (path === "/api" || path === "/apis") {
        const v = aggregatedVersion(accept);
        if (v) return send(res, 200, aggregatedDiscovery(this.#o.types, path === "/api", v), aggregatedContentType(v));
        return send(
          res,
          200,
          path === "/api" ? apiVersions(String(req.headers.host ?? "")) : apiGroupList(this.#o.types),
        );
      }
      if (path === "/openapi/v3") return send(res, 200, openApiIndex(this.#o.types));
      if (path.startsWith("/openapi/v3/")) {
        const doc = openApiDocument(this.#o.types, path.slice("/openapi/v3/".length));
        if (!doc) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        return send(res, 200, doc);
      }
      if (path === "/openapi/v2")
        throw new ApiError(
          404,
          "NotFound",
          "the server could not find the requested resource (OpenAPI v2 is not served; use v3)",
        );
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/(.*))?$/.exec(path);
    if (!m) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const group = m[2] ?? "";
    const version = (m[1] ?? m[3]) as string;
    const rest = (m[4] ?? "").split("/").filter(Boolean);
    if (rest.length === 0) {
      const list = req.method === "GET" ? apiResourceList(this.#o.types, group, version) : undefined;
      if (!list) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      return send(res, 200, list);
    }
    const target = this.#target(group, version, rest);
    const q = url.searchParams;
    if (target.subresource === "scale") return this.#scale(target, q, req, res);
    switch (req.method) {
      case "GET":
        if (q.get("watch") === "true" || q.get("watch") === "1") return this.#watch(target, q, req, res);
        if (target.name === undefined) return this.#list(target, q, accept, res);
        return this.#get(target, accept, res);
      case "POST":
        return this.#create(
          target,
          q,
          await readBody(req, this.#o.maxBodyBytes),
          String(req.headers["content-type"] ?? ""),
          String(req.headers["user-agent"] ?? ""),
          res,
        );
      case "PUT":
        return this.#update(
          target,
          q,
          await readBody(req, this.#o.maxBodyBytes),
          String(req.headers["content-type"] ?? ""),
          String(req.headers["user-agent"] ?? ""),
          res,
        );
      case "PATCH":
        return this.#patch(
          target,
          q,
          await readBody(req, this.#o.maxBodyBytes),
          String(req.headers["content-type"] ?? ""),
          String(req.headers["user-agent"] ?? ""),
          res,
        );
      case "DELETE":
        return this.#delete(target, q, res);
      default:
        throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
  }

  /** Resolves `[namespaces/<ns>/]<plural>[/<name>[/<subresource>]]` against the registry. */
  #target(group: string, version: string, rest: string[]): Target {
    const nsType = this.#o.types.find("", "v1", "namespaces");
    let namespace: string | undefined;
    let parts = rest;
    if (
      group === "" &&
      parts[0] === "namespaces" &&
      parts.length >= 3 &&
      this.#o.types.find(group, version, parts[2] as string)?.namespaced
    ) {
      namespace = parts[1];
      parts = parts.slice(2);
    } else if (group !== "" && parts[0] === "namespaces" && parts.length >= 3) {
      namespace = parts[1];
      parts = parts.slice(2);
    }
    const type = this.#o.types.find(group, version, parts[0] as string);
    if (!type || (group === "" && parts[0] === "namespaces" && namespace !== undefined)) {
      throw new ApiError(404, "NotFound", `the server could not find the requested resource`);
    }
    if (type.namespaced !== (namespace !== undefined) && parts.length > 1) {
      if (type.namespaced)
        throw new ApiError(
          404,
          "NotFound",
          "the server could not find the requested resource (a namespaced resource needs /namespaces/<namespace>/)",
        );
    }
    const subresource = parts[2];
    if (subresource !== undefined && !type.subresources.includes(subresource))
      throw new ApiError(
        404,
        "NotFound",
        `the server could not find the requested resource (subresource ${subresource})`,
      );
    void nsType;
    const t: Target = { type };
    if (namespace !== undefined) t.namespace = namespace;
    if (parts[1] !== undefined) t.name = parts[1];
    if (subresource !== undefined) t.subresource = subresource;
    return t;
  }

  #decorate(type: ResourceType, o: KubeObject): KubeObject {
    return { apiVersion: groupVersion(type), kind: type.kind, ...o };
  }

  #get(t: Target, accept: string, res: ServerResponse): void {
    const o = this.#store.get(typeKey(t.type), t.namespace, t.name as string);
    if (!o) throw notFound(t.type, t.name as string);
    if (wantsTable(accept)) {
      send(
        res,
        200,
        toTable(typeKey(t.type), [o], String(o.metadata["resourceVersion"]), this.#o.now().getTime()),
        "application/json;as=Table;v=v1;g=meta.k8s.io",
      );
      return;
    }
    send(res, 200, this.#decorate(t.type, o));
  }

  /**
   * The objects a list or a watch's first state selects. A label selector that names values (`a=b`, `a in (b,c)`)
   * reads the objects with those labels from the store's index; the rest are filtered as they are.
   */
  #selected(t: Target, q: URLSearchParams): KubeObject[] {
    const labels = parseLabelSelector(q.get("labelSelector"));
    const fields = parseFieldSelector(q.get("fieldSelector"));
    const named = namedValues(labels);
    const candidates = named
      ? this.#store.listLabelled(typeKey(t.type), t.namespace, named.key, named.values)
      : this.#store.list(typeKey(t.type), t.namespace);
    return candidates.filter((o) => matchesLabels(o.metadata["labels"] as Record<string, string>, labels) && fields(o));
  }

  #list(t: Target, q: URLSearchParams, accept: string, res: ServerResponse): void {
    const items = this.#selected(t, q);
    const rv = String(this.#store.resourceVersion);
    if (wantsTable(accept)) {
      send(
        res,
        200,
        toTable(typeKey(t.type), items, rv, this.#o.now().getTime()),
        "application/json;as=Table;v=v1;g=meta.k8s.io",
      );
      return;
    }
    send(res, 200, {
      kind: `${t.type.kind}List`,
      apiVersion: groupVersion(t.type),
      metadata: { resourceVersion: rv },
      items: items.map((o) => this.#decorate(t.type, o)),
    });
  }

  #watch(t: Target, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const labels = parseLabelSelector(q.get("labelSelector"));
    const fields = parseFieldSelector(q.get("fieldSelector"));
    const filter = (o: KubeObject) =>
      matchesLabels(o.metadata["labels"] as Record<string, string>, labels) && fields(o);
    const rvText = q.get("resourceVersion");
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    // Sent now: a client waits for the headers before it reads events, and there may be none for a while.
    res.flushHeaders();
    const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
    const sendEvent = (e: StoreEvent) => write(e.type, this.#decorate(t.type, e.object));
    // No version (or "0"): the current state first, as synthetic ADDED events.
    const since = rvText && rvText !== "0" ? Number(rvText) : undefined;
    if (since === undefined) for (const o of this.#selected(t, q)) write("ADDED", this.#decorate(t.type, o));
    let stop: (() => void) | undefined;
    try {
      stop = this.#store.watch(
        {
          typeKey: typeKey(t.type),
          ...(t.namespace !== undefined ? { namespace: t.namespace } : {}),
          filter,
          send: sendEvent,
        },
        since,
      );
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      write("ERROR", err.toStatus());
      return void res.end();
    }
    const timeout = Number(q.get("timeoutSeconds") ?? "0");
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const done = () => {
      stop?.();
      if (timer) clearTimeout(timer);
    };
    req.on("close", done);
    res.on("close", done);
  }

  /** Validation per fieldValidation (Strict refuses unknown fields; Warn and Ignore drop them, Warn says so). */
  #validate(t: Target, obj: Obj, old: Obj | undefined, q: URLSearchParams, headers: Record<string, string>): void {
    const mode = (q.get("fieldValidation") ?? "Warn").toLowerCase();
    if (!["strict", "warn", "ignore"].includes(mode))
      throw badRequest(`fieldValidation must be one of Strict, Warn, Ignore (got ${q.get("fieldValidation")})`);
    const causes = validateWrite(t.type, obj, old, true);
    const unknown = causes.filter((c) => c.message.startsWith("unknown field"));
    const other = causes.filter((c) => !c.message.startsWith("unknown field"));
    if (mode === "strict" && unknown.length > 0) {
      const name = String(meta(obj)["name"] ?? "");
      throw new ApiError(400, "BadRequest", `strict decoding error: ${unknown.map((c) => c.message).join(", ")}`, {
        name,
        group: t.type.group,
        kind: t.type.kind,
        causes: unknown,
      });
    }
    for (const c of unknown) deletePath(obj, c.field);
    if (mode === "warn" && unknown.length > 0)
      headers["warning"] = unknown.map((c) => `299 - "${c.message}"`).join(", ");
    if (other.length > 0) throw invalid(t.type, String(meta(obj)["name"] ?? ""), other);
  }

  /** The namespace a namespaced write lands in must exist and not be terminating. */
  #checkNamespace(t: Target, creating: boolean): void {
    if (!t.type.namespaced) return;
    const ns = this.#store.get("/namespaces", undefined, t.namespace as string);
    const nsType = this.#o.types.find("", "v1", "namespaces") as ResourceType;
    if (!ns) throw notFound(nsType, t.namespace as string);
    if (creating && ns.metadata["deletionTimestamp"]) {
      throw forbidden(
        `${t.type.plural}${t.type.group ? `.${t.type.group}` : ""} is forbidden: unable to create new content in namespace ${t.namespace} because it is being terminated`,
        {
          name: String(ns.metadata["name"]),
          kind: t.type.plural,
          causes: [
            {
              reason: "NamespaceTerminating",
              message: `namespace ${t.namespace} is being terminated`,
              field: "metadata.namespace",
            },
          ],
        },
      );
    }
  }

  #checkIdentity(t: Target, obj: Obj): void {
    const want = groupVersion(t.type);
    if (obj["apiVersion"] !== undefined && obj["apiVersion"] !== want)
      throw badRequest(
        `the API version in the data (${String(obj["apiVersion"])}) does not match the expected API version (${want})`,
      );
    if (obj["kind"] !== undefined && obj["kind"] !== t.type.kind)
      throw badRequest(
        `the kind in the data (${String(obj["kind"])}) does not match the expected kind (${t.type.kind})`,
      );
    const ns = meta(obj)["namespace"];
    if (t.type.namespaced && ns !== undefined && ns !== t.namespace)
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    if (t.name !== undefined && meta(obj)["name"] !== undefined && meta(obj)["name"] !== t.name)
      throw badRequest(
        `the name of the object (${String(meta(obj)["name"])}) does not match the name on the URL (${t.name})`,
      );
    // Typed clients may leave them out; the URL says what they are.
    obj["apiVersion"] = want;
    obj["kind"] = t.type.kind;
  }

  #managerOf(q: URLSearchParams, userAgent: string, fallback: string): string {
    const fm = q.get("fieldManager");
    if (fm) return fm;
    // As the real server: the client's user agent up to the first '/'.
    return userAgent.split("/")[0] || fallback;
  }

  #dryRun(q: URLSearchParams): boolean {
    const d = q.getAll("dryRun");
    if (d.some((v) => v !== "All")) throw badRequest(`dryRun must be All (got ${d.join(",")})`);
    return d.length > 0;
  }

  /** Stores a new object (or answers as if it did, for a dry run). */
  #commitCreate(t: Target, given: Obj, dryRun: boolean): KubeObject {
    // The server's defaults, on its own copy (the caller's object may share parts with others).
    const obj = applyServerDefaults(t.type.kind, given);
    const m = meta(obj);
    m["uid"] = randomUUID();
    m["creationTimestamp"] = this.#o
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
    m["generation"] = 1;
    if (t.type.namespaced) m["namespace"] = t.namespace;
    delete m["resourceVersion"];
    if (t.type.kind === "Namespace") obj["status"] = { phase: "Active" };
    if (t.type.kind === "Namespace")
      m["labels"] = { ...((m["labels"] as object) ?? {}), "kubernetes.io/metadata.name": m["name"] };
    const stored = { ...obj, metadata: m } as KubeObject;
    delete stored["apiVersion"];
    delete stored["kind"];
    if (dryRun) return stored;
    this.#store.put(typeKey(t.type), stored);
    if (t.type.kind === "CustomResourceDefinition") this.#o.types.addCrd(this.#decorate(t.type, stored));
    return stored;
  }

  #create(
    t: Target,
    q: URLSearchParams,
    text: string,
    contentType: string,
    userAgent: string,
    res: ServerResponse,
  ): void {
    if (t.name !== undefined) throw methodNotAllowed("POST is not allowed on a named resource");
    const obj = parseBody(text, contentType);
    this.#checkIdentity(t, obj);
    const m = meta(obj);
    if (!m["name"] && typeof m["generateName"] === "string")
      m["name"] = `${m["generateName"]}${randomUUID().replace(/-/g, "").slice(0, 5)}`;
    const dryRun = this.#dryRun(q);
    const headers: Record<string, string> = {};
    this.#checkNamespace(t, true);
    this.#validate(t, obj, undefined, q, headers);
    if (this.#store.get(typeKey(t.type), t.namespace, String(m["name"])))
      throw alreadyExists(t.type, String(m["name"]));
    const withFields = recordUpdate(undefined, obj, {
      manager: this.#managerOf(q, userAgent, "unknown"),
      now: this.#o.now().toISOString(),
      kind: t.type.kind,
      builtin: t.type.builtin,
      operation: "Update",
    });
    const stored = this.#commitCreate(t, withFields, dryRun);
    send(res, 201, this.#decorate(t.type, stored), "application/json", headers);
  }

  /** Stores a changed object: identity and server fields carried over, generation bumped on a spec change. */
  #commitUpdate(t: Target, live: KubeObject, given: Obj, dryRun: boolean): KubeObject {
    // The server's defaults, on its own copy (a merged object may share parts with the live one).
    const next = applyServerDefaults(t.type.kind, given);
    const m = meta(next);
    for (const k of ["uid", "creationTimestamp", "deletionTimestamp", "generation"]) {
      if (live.metadata[k] !== undefined) m[k] = live.metadata[k];
      else delete m[k];
    }
    if (t.type.namespaced) m["namespace"] = t.namespace;
    m["name"] = live.metadata["name"];
    if (specOf(next) !== specOf(live)) m["generation"] = Number(live.metadata["generation"] ?? 1) + 1;
    const stored = { ...next, metadata: m } as KubeObject;
    delete stored["apiVersion"];
    delete stored["kind"];
    stored.metadata["resourceVersion"] = live.metadata["resourceVersion"];
    // As the real server: a write that changes nothing is not a write (no new resourceVersion, no event).
    if (dryRun || JSON.stringify(stored) === JSON.stringify(live)) return dryRun ? stored : live;
    this.#store.put(typeKey(t.type), stored);
    if (t.type.kind === "CustomResourceDefinition") this.#o.types.addCrd(this.#decorate(t.type, stored));
    return stored;
  }

  /** The object a subresource write produces: only that subresource changes. */
  #scoped(t: Target, live: KubeObject, next: Obj): Obj {
    if (t.subresource === "status")
      return {
        ...clone(live),
        status: next["status"],
        metadata: {
          ...clone(live.metadata),
          ...(next["metadata"] ? { resourceVersion: (next["metadata"] as Obj)["resourceVersion"] } : {}),
        },
      };
    // The main resource ignores status changes, as the real server does for types with a status subresource.
    if (t.type.subresources.includes("status") && t.type.kind !== "Namespace") {
      const { status: _ignored, ...rest } = next;
      return live["status"] === undefined ? rest : { ...rest, status: live["status"] };
    }
    return next;
  }

  #update(
    t: Target,
    q: URLSearchParams,
    text: string,
    contentType: string,
    userAgent: string,
    res: ServerResponse,
  ): void {
    if (t.name === undefined) throw methodNotAllowed("PUT needs a named resource");
    const live = this.#store.get(typeKey(t.type), t.namespace, t.name);
    if (!live) throw notFound(t.type, t.name);
    const body = parseBody(text, contentType);
    this.#checkIdentity(t, body);
    const rv = meta(body)["resourceVersion"];
    if (rv !== undefined && rv !== "" && rv !== live.metadata["resourceVersion"])
      throw conflict(
        t.type,
        t.name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    const next = this.#scoped(t, live, body);
    const dryRun = this.#dryRun(q);
    const headers: Record<string, string> = {};
    this.#checkNamespace(t, false);
    this.#validate(t, next, this.#decorate(t.type, live), q, headers);
    const withFields = recordUpdate(this.#decorate(t.type, live), next, {
      manager: this.#managerOf(q, userAgent, "unknown"),
      now: this.#o.now().toISOString(),
      kind: t.type.kind,
      builtin: t.type.builtin,
      operation: "Update",
    });
    send(
      res,
      200,
      this.#decorate(t.type, this.#commitUpdate(t, live, withFields, dryRun)),
      "application/json",
      headers,
    );
  }

  #patch(
    t: Target,
    q: URLSearchParams,
    text: string,
    contentType: string,
    userAgent: string,
    res: ServerResponse,
  ): void {
    if (t.name === undefined) throw methodNotAllowed("PATCH needs a named resource");
    const live = this.#store.get(typeKey(t.type), t.namespace, t.name);
    const type = contentType.split(";")[0]?.trim() ?? "";
    const dryRun = this.#dryRun(q);
    const headers: Record<string, string> = {};
    const now = this.#o.now().toISOString();
    if (type === "application/apply-patch+yaml") {
      const manager = q.get("fieldManager");
      if (!manager)
        throw badRequest(
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      const applied = parseBody(text, "yaml");
      this.#checkIdentity(t, applied);
      const result = this.#apply(t, live, applied, manager, q.get("force") === "true", dryRun, q, headers);
      send(res, result.created ? 201 : 200, this.#decorate(t.type, result.object), "application/json", headers);
      return;
    }
    if (!live) throw notFound(t.type, t.name);
    const patch = parseBody(text, "json");
    let next: Obj;
    if (type === "application/merge-patch+json") next = jsonMergePatch(this.#decorate(t.type, live), patch) as Obj;
    else if (type === "application/strategic-merge-patch+json") {
      if (!t.type.builtin)
        throw unsupportedMediaType(
          `${type} (strategic merge patch is not supported for custom resources; use a merge patch)`,
        );
      next = strategicMergePatch(this.#decorate(t.type, live), patch, t.type.kind);
    } else throw unsupportedMediaType(type);
    this.#checkIdentity(t, next);
    const rv = meta(patch)["resourceVersion"];
    if (rv !== undefined && rv !== live.metadata["resourceVersion"])
      throw conflict(
        t.type,
        t.name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    next = this.#scoped(t, live, next);
    this.#checkNamespace(t, false);
    this.#validate(t, next, this.#decorate(t.type, live), q, headers);
    const withFields = recordUpdate(this.#decorate(t.type, live), next, {
      manager: this.#managerOf(q, userAgent, "unknown"),
      now,
      kind: t.type.kind,
      builtin: t.type.builtin,
      operation: "Update",
    });
    send(
      res,
      200,
      this.#decorate(t.type, this.#commitUpdate(t, live, withFields, dryRun)),
      "application/json",
      headers,
    );
  }

  /** The `scale` subresource (autoscaling/v1 Scale): read, or change spec.replicas by PUT or PATCH. */
  async #scale(t: Target, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const live = this.#store.get(typeKey(t.type), t.namespace, t.name as string);
    if (!live) throw notFound(t.type, t.name as string);
    const scaleOf = (o: KubeObject) => ({
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: {
        name: o.metadata["name"],
        namespace: o.metadata["namespace"],
        uid: o.metadata["uid"],
        resourceVersion: o.metadata["resourceVersion"],
        creationTimestamp: o.metadata["creationTimestamp"],
      },
      spec: { replicas: (o["spec"] as Obj | undefined)?.["replicas"] ?? 1 },
      status: {
        replicas: (o["status"] as Obj | undefined)?.["replicas"] ?? 0,
        selector: Object.entries(
          ((o["spec"] as Obj | undefined)?.["selector"] as Obj | undefined)?.["matchLabels"] ?? {},
        )
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(","),
      },
    });
    if (req.method === "GET") return send(res, 200, scaleOf(live));
    if (req.method !== "PUT" && req.method !== "PATCH")
      throw methodNotAllowed("the scale subresource supports get, update and patch");
    const body = parseBody(await readBody(req, this.#o.maxBodyBytes), String(req.headers["content-type"] ?? ""));
    const contentType = String(req.headers["content-type"] ?? "").split(";")[0];
    const wanted = (
      req.method === "PUT"
        ? body
        : contentType === "application/strategic-merge-patch+json" || contentType === "application/merge-patch+json"
          ? jsonMergePatch(scaleOf(live), body)
          : undefined
    ) as Obj | undefined;
    if (!wanted) throw unsupportedMediaType(String(contentType));
    const replicas = (wanted["spec"] as Obj | undefined)?.["replicas"];
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid({ group: "autoscaling", plural: "scale", kind: "Scale" }, t.name as string, [
        {
          reason: "FieldValueInvalid",
          field: "spec.replicas",
          message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        },
      ]);
    }
    const next = { ...clone(live), spec: { ...((live["spec"] as Obj) ?? {}), replicas } } as Obj;
    const stored = this.#commitUpdate(
      t,
      live,
      { apiVersion: groupVersion(t.type), kind: t.type.kind, ...next },
      this.#dryRun(q),
    );
    send(res, 200, scaleOf(stored));
  }

  /** Server-side apply of an object to a target (shared by PATCH apply-patch+yaml and in-cluster appliers). */
  #apply(
    t: Target,
    live: KubeObject | undefined,
    applied: Obj,
    manager: string,
    force: boolean,
    dryRun: boolean,
    q: URLSearchParams,
    headers: Record<string, string>,
  ): { object: KubeObject; created: boolean } {
    const now = this.#o.now().toISOString();
    const result = serverSideApply(live ? this.#decorate(t.type, live) : undefined, applied, {
      manager,
      force,
      now,
      kind: t.type.kind,
      builtin: t.type.builtin,
    });
    if (result.conflicts.length > 0) {
      const causes: StatusCause[] = result.conflicts.map((c) => ({
        reason: "FieldManagerConflict",
        message: `conflict with "${c.manager}": ${c.field}`,
        field: c.field,
      }));
      const summary = result.conflicts.map((c) => `conflict with "${c.manager}": ${c.field}`).join("\n- ");
      throw new ApiError(
        409,
        "Conflict",
        `Apply failed with ${result.conflicts.length} conflict${result.conflicts.length > 1 ? "s" : ""}: ${result.conflicts.length > 1 ? `\n- ${summary}` : summary}`,
        { name: t.name as string, group: t.type.group, kind: t.type.kind, causes },
      );
    }
    const next = live ? this.#scoped(t, live, result.object) : result.object;
    this.#checkNamespace(t, !live);
    this.#validate(t, next, live ? this.#decorate(t.type, live) : undefined, q, headers);
    if (!live) {
      meta(next)["name"] = t.name;
      return { object: this.#commitCreate(t, next, dryRun), created: true };
    }
    return { object: this.#commitUpdate(t, live, next, dryRun), created: false };
  }

  /** A number that moves whenever the types served change (a CRD added, changed or removed). */
  typesRevision(): number {
    return this.#o.types.revision;
  }

  /** The target of an object by its apiVersion, kind, namespace and name. @throws ApiError for an unknown kind */
  targetOf(obj: Obj, defaultNamespace = "default"): Target {
    const [group, version] = String(obj["apiVersion"] ?? "").includes("/")
      ? String(obj["apiVersion"]).split("/")
      : ["", String(obj["apiVersion"] ?? "")];
    const kind = obj["kind"];
    const type =
      typeof kind === "string" ? this.#o.types.findKind(group as string, version as string, kind) : undefined;
    if (!type)
      throw new ApiError(
        404,
        "NotFound",
        `no matches for kind "${String(obj["kind"])}" in version "${String(obj["apiVersion"])}"`,
      );
    const t: Target = { type, name: String(meta(obj)["name"] ?? "") };
    if (type.namespaced) t.namespace = String(meta(obj)["namespace"] ?? defaultNamespace);
    return t;
  }

  /**
   * Applies an object from inside the cluster (a controller such as ConfigSync), with the same validation,
   * ownership and answers as a client's server-side apply with force.
   * @throws ApiError as the API would answer
   */
  applyObject(obj: Obj, manager: string, defaultNamespace = "default"): KubeObject {
    const t = this.targetOf(obj, defaultNamespace);
    const applied = clone(obj);
    if (t.namespace !== undefined) meta(applied)["namespace"] = t.namespace;
    this.#checkIdentity(t, applied);
    const live = this.#store.get(typeKey(t.type), t.namespace, t.name as string);
    return this.#apply(t, live, applied, manager, true, false, new URLSearchParams({ fieldValidation: "Strict" }), {})
      .object;
  }

  /** Deletes an object from inside the cluster; false when it was not there. */
  deleteObject(t: Target): boolean {
    const live = this.#store.get(typeKey(t.type), t.namespace, t.name as string);
    if (!live) return false;
    this.#deleteLive(t, live);
    return true;
  }

  #delete(t: Target, q: URLSearchParams, res: ServerResponse): void {
    if (t.name === undefined) throw methodNotAllowed("collection deletion is not supported by the emulator");
    const live = this.#store.get(typeKey(t.type), t.namespace, t.name);
    if (!live) throw notFound(t.type, t.name);
    if (this.#dryRun(q)) {
      send(res, 200, this.#decorate(t.type, live));
      return;
    }
    send(res, 200, this.#deleteLive(t, live));
  }

  /** Deletes a stored object; returns what the DELETE call answers. */
  #deleteLive(t: Target, live: KubeObject): Record<string, unknown> {
    const key = typeKey(t.type);
    if (t.type.kind === "Namespace") {
      // Terminating first (new content refused), then — as the namespace controller would, a moment later —
      // its content goes, then the namespace itself.
      const terminating = {
        ...clone(live),
        metadata: {
          ...clone(live.metadata),
          deletionTimestamp: this.#o
            .now()
            .toISOString()
            .replace(/\.\d{3}Z$/, "Z"),
        },
        status: { phase: "Terminating" },
      } as KubeObject;
      this.#store.put(key, terminating);
      setTimeout(() => {
        for (const type of this.#o.types.all()) {
          if (!type.namespaced) continue;
          for (const o of this.#store.list(typeKey(type), t.name))
            this.#store.remove(typeKey(type), t.name, String(o.metadata["name"]));
        }
        this.#store.remove(key, undefined, t.name as string);
      }, this.#o.namespaceFinalizeMs).unref();
      return this.#decorate(t.type, terminating);
    }
    const removed = this.#store.remove(key, t.namespace, t.name as string);
    if (t.type.kind === "CustomResourceDefinition" && removed) {
      for (const gone of this.#o.types.removeCrd(this.#decorate(t.type, removed))) {
        for (const o of this.#store.list(typeKey(gone)))
          this.#store.remove(typeKey(gone), o.metadata["namespace"] as string | undefined, String(o.metadata["name"]));
      }
    }
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: t.name, group: t.type.group, kind: t.type.plural, uid: live.metadata["uid"] },
    };
  }
}

export { NAMESPACES };
