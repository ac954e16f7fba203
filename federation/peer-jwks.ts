/**
 * Reading a peer's configured keys once, when trust is set up: inline, from a file, or from a JWKS URL over
 * https verified with the CA pinned for that peer (never the system trust store, never jose's remote key set).
 * After this, a peer's keys change only by a signed announcement.
 */
import { request } from "node:https";
import { readFile, stat } from "node:fs/promises";
import { CaminoError } from "../common/errors.js";
import { MAX_ANNOUNCEMENT_BYTES } from "./announcement.js";
import { validatePublicJwks } from "./peer-keys.js";
import type { PublicJwks } from "./trust.js";

/** Where a peer's keys come from: exactly one of `jwks`, `jwksFile`, `jwksUrl`. */
export interface PeerJwksSource {
  /** The JWKS inline (as parsed from the config). */
  jwks?: unknown;
  /** A file holding the JWKS. */
  jwksFile?: string;
  /** An https URL serving the JWKS, fetched once. */
  jwksUrl?: string;
  /** PEM of the CA that must have issued the URL's server certificate. Required with `jwksUrl`. */
  caPem?: string;
  /** Longest wait for the URL, in milliseconds. Default 5000. */
  timeoutMs?: number;
}

/** Largest JWKS read from a file or URL. */
const MAX_JWKS_BYTES = MAX_ANNOUNCEMENT_BYTES;

/** Fetches `url` once over https trusting only `ca`; the body as text, bounded in size and time. */
function fetchPinned(url: URL, ca: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "GET", ca, headers: { accept: "application/json" }, signal, agent: false },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`answered HTTP ${res.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_JWKS_BYTES) {
            req.destroy(new Error(`answered more than ${MAX_JWKS_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** URL without credentials, query or fragment, for messages. */
function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Reads and validates a peer's keys from its configured source (public EdDSA/ES256 keys only, no private
 * members). @throws CaminoError ERR_PEER_KEYS_INVALID (bad source or keys) or ERR_PEER_UNREACHABLE (the URL
 * could not be fetched: refused, wrong CA, timeout).
 * @example const jwks = await readPeerJwks({ jwksUrl: "https://y.example:8443/jwks.json", caPem }, signal);
 */
export async function readPeerJwks(source: PeerJwksSource, signal: AbortSignal): Promise<PublicJwks> {
  const given = [source.jwks !== undefined, source.jwksFile !== undefined, source.jwksUrl !== undefined];
  if (given.filter(Boolean).length !== 1) {
    throw new CaminoError("ERR_PEER_KEYS_INVALID", "a peer needs exactly one of jwks, jwksFile and jwksUrl");
  }
  if (source.jwks !== undefined) return validatePublicJwks(source.jwks, "inline jwks");
  let text: string;
  let what: string;
  if (source.jwksFile !== undefined) {
    what = `jwksFile ${source.jwksFile}`;
    try {
      if ((await stat(source.jwksFile)).size > MAX_JWKS_BYTES)
        throw new CaminoError("ERR_PEER_KEYS_INVALID", `${what} is over ${MAX_JWKS_BYTES} bytes`);
      text = await readFile(source.jwksFile, { encoding: "utf8", signal });
    } catch (err) {
      if (err instanceof CaminoError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
      throw new CaminoError("ERR_PEER_KEYS_INVALID", `${what} cannot be read (${code})`, { cause: err });
    }
  } else {
    let url: URL;
    try {
      url = new URL(source.jwksUrl as string);
    } catch (err) {
      throw new CaminoError("ERR_PEER_KEYS_INVALID", "jwksUrl is not a URL", { cause: err });
    }
    what = `jwksUrl ${shown(url)}`;
    if (url.protocol !== "https:") throw new CaminoError("ERR_PEER_KEYS_INVALID", `${what} must be https`);
    if (!source.caPem) throw new CaminoError("ERR_PEER_KEYS_INVALID", `${what} needs the peer's CA`);
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(source.timeoutMs ?? 5000)]);
    try {
      text = await fetchPinned(url, source.caPem, bounded);
    } catch (err) {
      const why = bounded.aborted
        ? signal.aborted
          ? "was cancelled"
          : "timed out"
        : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
      throw new CaminoError("ERR_PEER_UNREACHABLE", `${what} could not be fetched (${why})`, { cause: err });
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CaminoError("ERR_PEER_KEYS_INVALID", `${what} is not JSON`, { cause: err });
  }
  return validatePublicJwks(parsed, what);
}
