/**
 * The HTTP client isomorphic-git talks to a smart-HTTP git server through (its `http` option), on Node's own
 * `node:http` and `node:https`, bound to an AbortSignal: isomorphic-git's clone and fetch take no signal of
 * their own, so the client carries the operation's (caller, shutdown and deadline linked). When it aborts, the
 * request and its response stream are destroyed with the signal's reason, which closes the socket, so a server
 * that accepts a connection and never answers cannot hold an operation open. TLS uses Node's default agent
 * (the system's CAs and NODE_EXTRA_CA_CERTS), as isomorphic-git's own Node client does. Redirects are followed
 * the way that client follows them: at most 10, credentials and cookies only within the same origin.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { pipeline, Readable } from "node:stream";
import { createGunzip, createInflate } from "node:zlib";
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";
import { CaminoError } from "../../errors.js";
import { abortReason, anySignal } from "../../util/signals.js";
import { redactUrl } from "./redact-url.js";

export interface GitHttpClientOptions {
  /** Aborts every request made through the client, and the response bodies still being read. */
  signal?: AbortSignal;
  /** Redirects followed per request. Default 10, as isomorphic-git's own Node client. */
  maxRedirects?: number;
}

type Body = Buffer | AsyncIterable<Uint8Array> | undefined;

interface Outgoing {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Body;
}

/**
 * An isomorphic-git HTTP client whose requests stop when `signal` aborts (they reject with its reason).
 * @example await git.fetch({ fs, http: gitHttpClient({ signal }), dir, url });
 */
export function gitHttpClient(options: GitHttpClientOptions = {}): HttpClient {
  const maxRedirects = options.maxRedirects ?? 10;
  return {
    request: (req: GitHttpRequest) => send(req, anySignal(options.signal, req.signal), maxRedirects),
  };
}

async function send(req: GitHttpRequest, signal: AbortSignal, maxRedirects: number): Promise<GitHttpResponse> {
  if (signal.aborted) throw abortReason(signal);
  // isomorphic-git sends its request bodies as arrays of buffers; one buffer gets a Content-Length.
  const body = req.body;
  let next: Outgoing = {
    url: req.url,
    method: (req.method ?? "GET").toUpperCase(),
    headers: { ...req.headers },
    body: Array.isArray(body) ? Buffer.concat(body as Uint8Array[]) : body,
  };
  for (let redirects = 0; ; redirects++) {
    const res = await exchange(next, signal);
    const location = res.headers.location;
    if (res.statusCode === undefined || res.statusCode < 300 || res.statusCode >= 400 || !location) {
      return toResponse(next, res);
    }
    res.resume();
    if (redirects >= maxRedirects) {
      throw new CaminoError(
        "ERR_REPOSITORY_UNREACHABLE",
        `${redactUrl(req.url)}: more than ${maxRedirects} redirects`,
        { data: { redirects } },
      );
    }
    next = redirected(next, res.statusCode, location);
  }
}

/** One request and its response head, destroyed (socket and all) when `signal` aborts. */
function exchange(out: Outgoing, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(out.url);
    const make = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = make(target, { method: out.method, headers: out.headers });
    let res: IncomingMessage | undefined;
    const onAbort = () => {
      const reason = abortReason(signal);
      // Destroying the request closes its socket; the response, when there is one, fails with the reason.
      res?.destroy(reason);
      req.destroy(reason);
    };
    const done = () => signal.removeEventListener("abort", onAbort);
    signal.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err) => {
      done();
      reject(signal.aborted ? abortReason(signal) : err);
    });
    req.on("response", (r) => {
      res = r;
      // The listener stays until the response closes (read to its end, failed or dropped by its reader): a
      // response still being read is cancelled with the request.
      r.once("close", done);
      // A body nobody reads any more may still be destroyed by an abort; its reader, if any, gets the error.
      r.on("error", () => undefined);
      resolve(r);
    });
    if (out.body === undefined) req.end();
    else if (Buffer.isBuffer(out.body)) req.end(out.body);
    // A request that fails mid-body reports on its own "error"; the pipeline's error is the same one.
    else pipeline(Readable.from(out.body), req, () => undefined);
  });
}

/** The response isomorphic-git reads: headers as strings, the body (decoded) as an async iterable. */
function toResponse(out: Outgoing, res: IncomingMessage): GitHttpResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  const encoding = headers["content-encoding"]?.toLowerCase();
  let body: Readable = res;
  if (encoding === "gzip" || encoding === "deflate") {
    // An abort destroys `res`; the pipeline passes its reason on to the decoder the reader is iterating.
    body = pipeline(res, encoding === "gzip" ? createGunzip() : createInflate(), () => undefined);
  }
  return {
    url: out.url,
    method: out.method,
    statusCode: res.statusCode ?? 0,
    statusMessage: res.statusMessage ?? "",
    headers,
    // isomorphic-git reads an async iterator; Readable's own ends (and destroys the stream) on error or return.
    body: body[Symbol.asyncIterator]() as AsyncIterableIterator<Uint8Array>,
  };
}

/**
 * The request a redirect asks for. Credentials go only to the same origin (scheme, host and port), as curl
 * and canonical git do; a 303, or a 301/302 of a POST, becomes a GET; a streamed body cannot be sent twice.
 */
function redirected(previous: Outgoing, statusCode: number, location: string): Outgoing {
  const url = new URL(location, previous.url);
  const sameOrigin = url.origin === new URL(previous.url).origin;
  let { method, body } = previous;
  const dropped = new Set(["host"]);
  if (!sameOrigin) for (const h of ["authorization", "cookie"]) dropped.add(h);
  if (
    (statusCode === 303 && method !== "GET" && method !== "HEAD") ||
    (method === "POST" && (statusCode === 301 || statusCode === 302))
  ) {
    method = "GET";
    body = undefined;
    for (const h of ["content-length", "content-type"]) dropped.add(h);
  } else if (body !== undefined && !Buffer.isBuffer(body)) {
    throw new CaminoError(
      "ERR_REPOSITORY_UNREACHABLE",
      `${redactUrl(previous.url)}: cannot follow a ${statusCode} redirect with a streamed request body`,
    );
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(previous.headers)) {
    if (!dropped.has(name.toLowerCase())) headers[name] = value;
  }
  return { url: url.href, method, headers, body };
}
