/** The `server` section of the agent config: the two listeners, their TLS files, and limits on calls. */
import { resolve } from "node:path";
import { joinPath, type Checker } from "../../common/checker.js";

/** TLS files of a listener, absolute. */
export interface TlsConfig {
  /** Required when `tls` is given. */
  certFile: string;
  /** Required when `tls` is given. */
  keyFile: string;
  /** CA bundle for client certificates: set it to ask clients for certificates (mTLS). Absent: none are asked for. */
  clientCaFile?: string;
  /** Refuse clients without a valid certificate. Default false (optional mTLS). */
  requireClientCert: boolean;
}

/** One listener. */
export interface ListenerConfig {
  /** Default 127.0.0.1 (both listeners; {@link SERVER_DEFAULTS}). */
  host: string;
  /** 0 picks a free port. Default 50051 for gRPC, 8080 for HTTP ({@link SERVER_DEFAULTS}). */
  port: number;
  /** Absent: plain text (h2c for gRPC). */
  tls?: TlsConfig;
}

/** The `server` section, parsed. */
export interface ServerConfig {
  /** HTTP/2: gRPC (h2c or TLS), also Connect and gRPC-Web. */
  grpc: ListenerConfig;
  /** HTTP/1.1: Connect and gRPC-Web, and /metrics. */
  http: ListenerConfig;
  /** How long a graceful shutdown waits for in-flight calls, in seconds. Default 10. */
  shutdownGraceSeconds: number;
  /** Largest request or response message, in bytes. Default 4 MiB. */
  maxMessageBytes: number;
}

/** Defaults of the `server` section. */
export const SERVER_DEFAULTS = {
  grpc: { host: "127.0.0.1", port: 50051 },
  http: { host: "127.0.0.1", port: 8080 },
  shutdownGraceSeconds: 10,
  maxMessageBytes: 4 * 1024 * 1024,
} as const;

function listener(
  c: Checker,
  v: unknown,
  path: string,
  defaults: { host: string; port: number },
  base: string,
): ListenerConfig {
  const o = c.object(v, path, ["host", "port", "tls"]) ?? {};
  const out: ListenerConfig = {
    host: c.string(o["host"], joinPath(path, "host"), { max: 253 }) ?? defaults.host,
    port: c.integer(o["port"], joinPath(path, "port"), 0, 65535) ?? defaults.port,
  };
  const t = c.object(o["tls"], joinPath(path, "tls"), ["certFile", "keyFile", "clientCaFile", "requireClientCert"]);
  if (t) {
    const certFile = c.string(t["certFile"], joinPath(path, "tls", "certFile"), { required: true, max: 4096 });
    const keyFile = c.string(t["keyFile"], joinPath(path, "tls", "keyFile"), { required: true, max: 4096 });
    const clientCaFile = c.string(t["clientCaFile"], joinPath(path, "tls", "clientCaFile"), { max: 4096 });
    const require = t["requireClientCert"];
    if (require !== undefined && typeof require !== "boolean")
      c.add(joinPath(path, "tls", "requireClientCert"), "must be true or false");
    if (require === true && !clientCaFile)
      c.add(joinPath(path, "tls", "requireClientCert"), "needs tls.clientCaFile to check client certificates against");
    if (certFile && keyFile) {
      out.tls = {
        certFile: resolve(base, certFile),
        keyFile: resolve(base, keyFile),
        requireClientCert: require === true,
      };
      if (clientCaFile) out.tls.clientCaFile = resolve(base, clientCaFile);
    }
  }
  return out;
}

/**
 * Checks the `server` section; problems are added to `c` with their paths.
 * @param base the folder relative paths (TLS files) are resolved against
 */
export function parseServerSection(c: Checker, v: unknown, base: string): ServerConfig {
  const s = c.object(v, "server", ["grpc", "http", "shutdownGraceSeconds", "maxMessageBytes"]) ?? {};
  const grpc = listener(c, s["grpc"], "server.grpc", SERVER_DEFAULTS.grpc, base);
  const http = listener(c, s["http"], "server.http", SERVER_DEFAULTS.http, base);
  if (grpc.port !== 0 && grpc.port === http.port && grpc.host === http.host)
    c.add("server.http.port", `${http.port} is already the gRPC port`);
  return {
    grpc,
    http,
    shutdownGraceSeconds:
      c.integer(s["shutdownGraceSeconds"], "server.shutdownGraceSeconds", 0, 600) ??
      SERVER_DEFAULTS.shutdownGraceSeconds,
    maxMessageBytes:
      c.integer(s["maxMessageBytes"], "server.maxMessageBytes", 64 * 1024, 64 * 1024 * 1024) ??
      SERVER_DEFAULTS.maxMessageBytes,
  };
}
