/**
 * The agent's two listeners: HTTP/2 (gRPC over h2c or TLS, with optional mTLS; Connect and gRPC-Web too) and
 * HTTP/1.1 (Connect, gRPC-Web, and /metrics). `close` drains gracefully: no new connections, GOAWAY to HTTP/2
 * clients, in-flight calls finish, and whatever still runs after the grace period is cut.
 */
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

/** connect-node's handler signature (its request/response types are not exported by name). */
type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
import { CaminoError } from "../errors.js";
import type { ListenerConfig, TlsConfig } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import { guardHttp2Session } from "./h2-session-guard.js";

type Handler = NodeHandler;

export interface ListenersOptions {
  grpc: ListenerConfig;
  http: ListenerConfig;
  /** Serves RPCs (the connect-node adapter). */
  rpc: Handler;
  /** Serves GET /metrics on the HTTP/1.1 listener. */
  metrics: () => Promise<{ contentType: string; body: string }>;
  logger: Logger;
}

export interface Listeners {
  /** e.g. "http://127.0.0.1:50051" or "https://…". */
  grpcUrl: string;
  httpUrl: string;
  grpcPort: number;
  httpPort: number;
  /** Stops accepting, lets in-flight calls finish for up to `graceMs`, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

async function tlsFiles(tls: TlsConfig, what: string): Promise<{ cert: Buffer; key: Buffer; ca?: Buffer }> {
  const read = async (file: string, field: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new CaminoError(
        "ERR_CONFIG_INVALID",
        `${what}.tls.${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`,
        { cause: err },
      );
    }
  };
  const out: { cert: Buffer; key: Buffer; ca?: Buffer } = {
    cert: await read(tls.certFile, "certFile"),
    key: await read(tls.keyFile, "keyFile"),
  };
  if (tls.clientCaFile) out.ca = await read(tls.clientCaFile, "clientCaFile");
  return out;
}

function listen(server: http.Server | http2.Http2Server, cfg: ListenerConfig, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new CaminoError(
          err.code === "EADDRINUSE" ? "ERR_ADDRESS_IN_USE" : "ERR_LISTEN",
          `${what}: cannot listen on ${cfg.host}:${cfg.port} (${err.code ?? err.message})`,
          { cause: err },
        ),
      );
    };
    server.once("error", onError);
    server.listen(cfg.port, cfg.host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

const urlHost = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** Starts both listeners. @throws CaminoError when a port is taken or a TLS file is unreadable. */
export async function startListeners(options: ListenersOptions): Promise<Listeners> {
  const { logger } = options;
  // HTTP/2 listener.
  let h2: http2.Http2Server | http2.Http2SecureServer;
  if (options.grpc.tls) {
    const files = await tlsFiles(options.grpc.tls, "server.grpc");
    h2 = http2.createSecureServer(
      {
        cert: files.cert,
        key: files.key,
        ...(files.ca
          ? { ca: files.ca, requestCert: true, rejectUnauthorized: options.grpc.tls.requireClientCert }
          : {}),
        allowHTTP1: true,
      },
      options.rpc,
    );
  } else {
    h2 = http2.createServer({}, options.rpc);
  }
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
    // A header over 64 KiB ends the session in nghttp2 but Node keeps the socket: drop it so the client hears.
    guardHttp2Session(s, { logger });
  });
  h2.on("sessionError", (err) => logger.debug("http2 session error", { error: err }));

  // HTTP/1.1 listener.
  const h1Handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method === "GET" && (req.url === "/metrics" || req.url?.startsWith("/metrics?"))) {
      options.metrics().then(
        ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
        (err: unknown) => {
          logger.error("metrics failed", { error: err });
          res.writeHead(500).end();
        },
      );
      return;
    }
    options.rpc(req, res);
  };
  let h1: http.Server;
  if (options.http.tls) {
    const files = await tlsFiles(options.http.tls, "server.http");
    h1 = https.createServer(
      {
        cert: files.cert,
        key: files.key,
        ...(files.ca
          ? { ca: files.ca, requestCert: true, rejectUnauthorized: options.http.tls.requireClientCert }
          : {}),
      },
      h1Handler,
    );
  } else {
    h1 = http.createServer(h1Handler);
  }
  const sockets = new Set<Socket>();
  h1.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });

  const grpcPort = await listen(h2, options.grpc, "server.grpc");
  let httpPort: number;
  try {
    httpPort = await listen(h1, options.http, "server.http");
  } catch (err) {
    h2.close();
    throw err;
  }

  const close = async (graceMs: number): Promise<void> => {
    const h2Closed = new Promise<void>((r) => h2.close(() => r()));
    const h1Closed = new Promise<void>((r) => h1.close(() => r()));
    for (const s of sessions) s.close();
    h1.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), graceMs)));
    const result = await Promise.race([Promise.all([h2Closed, h1Closed]), deadline]);
    clearTimeout(timer);
    if (result === "timeout") {
      logger.warn("shutdown grace period over; closing remaining connections", {
        sessions: sessions.size,
        connections: sockets.size,
      });
      for (const s of sessions) s.destroy();
      h1.closeAllConnections();
      await Promise.all([h2Closed, h1Closed]);
    }
  };

  const scheme = (tls: TlsConfig | undefined) => (tls ? "https" : "http");
  return {
    grpcUrl: `${scheme(options.grpc.tls)}://${urlHost(options.grpc.host)}:${grpcPort}`,
    httpUrl: `${scheme(options.http.tls)}://${urlHost(options.http.host)}:${httpPort}`,
    grpcPort,
    httpPort,
    close,
  };
}
