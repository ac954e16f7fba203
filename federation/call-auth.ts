/**
 * Authentication of federation calls on the wire: a client interceptor signs every call (one token per request,
 * bound to the request's bytes by `rdg`), and a server interceptor verifies every call before any handler runs,
 * so no handler carries authentication code. The server re-encodes the decoded request itself and refuses a
 * request with fields it does not know, so the bytes it digests are the bytes the caller signed.
 * A server stream is authorised when it opens and closed when its token expires (the client reopens it).
 */
import { type DescMessage, type Message, toBinary } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { CaminoError, findError } from "../common/errors.js";
import { MAX_FEDERATION_TOKEN_BYTES } from "./fed-token.js";
import type { PeerTrust, VerifiedPeer } from "./trust.js";

/** The verified peer of the current federation call, set by {@link federationServerAuth}. */
export const verifiedPeerKey = createContextKey<VerifiedPeer | undefined>(undefined, { description: "peer" });

/** What the federation package logs through (the agent's logger fits). */
export interface FederationLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** The path of the first field along `message` that its schema does not know, or undefined. */
export function unknownFieldPath(schema: DescMessage, message: Message): string | undefined {
  return walk(reflect(schema, message), schema.name);
}

function walk(m: ReflectMessage, path: string): string | undefined {
  const unknown = m.getUnknown();
  if (unknown && unknown.length > 0) return `${path} (field number ${unknown[0]?.no})`;
  for (const f of m.fields) {
    if (!m.isSet(f)) continue;
    if (f.fieldKind === "message") {
      const found = walk(m.get(f) as ReflectMessage, `${path}.${f.name}`);
      if (found) return found;
    } else if (f.fieldKind === "list" && f.listKind === "message") {
      const list = m.get(f);
      for (let i = 0; i < list.size; i++) {
        const found = walk(list.get(i) as ReflectMessage, `${path}.${f.name}[${i}]`);
        if (found) return found;
      }
    } else if (f.fieldKind === "map") {
      // Federation messages hold no maps (their encoding would not be deterministic); refuse one if it appears.
      return `${path}.${f.name} (a map)`;
    }
  }
  return undefined;
}

/** The bytes a federation token's `rdg` covers: the request message's protobuf binary encoding. */
export function requestBytes(schema: DescMessage, message: Message): Uint8Array {
  return toBinary(schema, message);
}

/** Options of {@link federationServerAuth}. */
export interface ServerAuthOptions {
  trust: PeerTrust;
  /** The methods `peer` may call (by name, e.g. "Hello"); undefined when the peer is not configured. */
  allowed(peer: string): ReadonlySet<string> | undefined;
  logger: FederationLogger;
  /** The clock, for closing streams when their token expires. Default now. */
  now?: () => number;
}

async function authorise(
  options: ServerAuthOptions,
  header: string | null,
  schema: DescMessage,
  message: Message,
  method: string,
): Promise<VerifiedPeer> {
  if (!header) throw new CaminoError("ERR_PEER_TOKEN_MISSING", "missing authorization header (Bearer token)");
  if (header.length > MAX_FEDERATION_TOKEN_BYTES + 16)
    throw new CaminoError("ERR_PEER_TOKEN_TOO_LARGE", `the token is over ${MAX_FEDERATION_TOKEN_BYTES} bytes`);
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new CaminoError("ERR_PEER_TOKEN_MALFORMED", "authorization header must be `Bearer <token>`");
  const unknown = unknownFieldPath(schema, message);
  if (unknown)
    throw new CaminoError(
      "ERR_PEER_REQUEST_UNKNOWN_FIELDS",
      `the request carries a field this domain does not know: ${unknown}`,
    );
  const peer = await options.trust.verify(match[1] as string, requestBytes(schema, message));
  const allowed = options.allowed(peer.domain);
  if (!allowed?.has(method))
    throw new CaminoError("ERR_PEER_DENIED", `peer ${peer.domain} may not call ${method}`, {
      data: { peer: peer.domain, method },
    });
  return peer;
}

/** Logs a refusal with the peer (the token's claimed issuer when it could not be verified) and the reason. */
function logRefusal(logger: FederationLogger, err: unknown, method: string, header: string | null): void {
  const e = findError(err);
  logger.warn("federation call refused", {
    method,
    peer: claimedIssuer(header),
    code: e?.code ?? "internal",
    reason: e?.message ?? String(err),
  });
}

/** The `iss` a token claims, unverified, for logs only (bounded; never the token). */
function claimedIssuer(header: string | null): string {
  const payload = header?.split(" ")[1]?.split(".")[1];
  if (!payload || payload.length > MAX_FEDERATION_TOKEN_BYTES) return "unknown";
  try {
    const iss = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { iss?: unknown }).iss;
    return typeof iss === "string" ? iss.slice(0, 64) : "unknown";
  } catch {
    return "unknown";
  }
}

/** The server interceptor: every call verified, its peer put under {@link verifiedPeerKey}. */
export function federationServerAuth(options: ServerAuthOptions): Interceptor {
  const now = options.now ?? Date.now;
  return (next) => async (req) => {
    const header = req.header.get("authorization");
    const method = req.method.name;
    const schema = req.method.input;
    if (!req.stream) {
      try {
        req.contextValues.set(verifiedPeerKey, await authorise(options, header, schema, req.message, method));
      } catch (err) {
        logRefusal(options.logger, err, method, header);
        throw err;
      }
      return next(req);
    }
    // A server stream: the request is its one message; authorise it, then pass it on.
    const iterator = req.message[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) throw new ConnectError("a streaming call needs its request message", Code.InvalidArgument);
    let peer: VerifiedPeer;
    try {
      peer = await authorise(options, header, schema, first.value, method);
    } catch (err) {
      logRefusal(options.logger, err, method, header);
      throw err;
    }
    req.contextValues.set(verifiedPeerKey, peer);
    const res = await next({
      ...req,
      message: (async function* () {
        yield first.value;
      })(),
    });
    if (!res.stream) return res;
    return { ...res, message: untilExpiry(res.message, peer.expiresAt.getTime() - now(), peer.domain) };
  };
}

/** Ends a response stream with UNAUTHENTICATED when its token expires. */
async function* untilExpiry<T>(stream: AsyncIterable<T>, ms: number, peer: string): AsyncIterable<T> {
  const iterator = stream[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), Math.max(0, ms));
  });
  try {
    for (;;) {
      const step = await Promise.race([iterator.next(), expired]);
      if (step === "expired") {
        void iterator.return?.();
        throw new CaminoError(
          "ERR_PEER_TOKEN_EXPIRED",
          `the stream's token from ${peer} has expired; reopen the stream with a fresh token`,
        );
      }
      if (step.done) return;
      yield step.value;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The client interceptor: every call to `peer` carries a fresh token bound to its request. */
export function federationClientAuth(trust: PeerTrust, peer: string): Interceptor {
  return (next) => async (req) => {
    const schema = req.method.input;
    if (!req.stream) {
      req.header.set("authorization", `Bearer ${await trust.sign(peer, requestBytes(schema, req.message))}`);
      return next(req);
    }
    const iterator = req.message[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) return next(req);
    req.header.set("authorization", `Bearer ${await trust.sign(peer, requestBytes(schema, first.value))}`);
    return next({
      ...req,
      message: (async function* () {
        yield first.value;
      })(),
    });
  };
}
