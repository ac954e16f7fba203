/**
 * The peer listener: HTTP/2 over TLS only, serving what its handler routes (camino.v1.Federation, health and
 * reflection, agent/rpc/routes.ts). Peers verify its certificate; with a client CA configured it asks peers for
 * theirs (mTLS), and refuses those without one when `requireClientCert` is set. `close` drains like the other
 * listeners: GOAWAY, in-flight calls finish, the rest is cut after the grace period.
 */
import { readFile } from "node:fs/promises";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { FederationConfig } from "../config/config.js";
import { CaminoError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { guardHttp2Session } from "./h2-session-guard.js";

type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

export interface PeerListener {
  /** e.g. "https://127.0.0.1:50052". */
  url: string;
  port: number;
  close(graceMs: number): Promise<void>;
}

async function read(file: string, field: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new CaminoError(
      "ERR_CONFIG_INVALID",
      `federation.tls.${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`,
      { cause: err },
    );
  }
}

/** Starts the peer listener. @throws CaminoError when its port is taken or a TLS file is unreadable. */
export async function startPeerListener(
  config: Pick<FederationConfig, "listen" | "tls">,
  handler: NodeHandler,
  logger: Logger,
): Promise<PeerListener> {
  const { tls, listen } = config;
  const ca = tls.clientCaFile ? await read(tls.clientCaFile, "clientCaFile") : undefined;
  const server = http2.createSecureServer(
    {
      cert: await read(tls.certFile, "certFile"),
      key: await read(tls.keyFile, "keyFile"),
      minVersion: "TLSv1.2",
      ...(ca ? { ca, requestCert: true, rejectUnauthorized: tls.requireClientCert } : {}),
    },
    handler,
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    // A peer whose header block nghttp2 refuses is cut at once rather than left hanging (h2-session-guard.ts).
    guardHttp2Session(s, { logger });
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  server.on("sessionError", (err) => logger.debug("peer listener session error", { error: String(err) }));
  server.on("tlsClientError", (err) => logger.debug("peer TLS handshake failed", { error: String(err) }));
  const port = await new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new CaminoError(
          err.code === "EADDRINUSE" ? "ERR_ADDRESS_IN_USE" : "ERR_LISTEN",
          `federation.listen: cannot listen on ${listen.host}:${listen.port} (${err.code ?? err.message})`,
          { cause: err },
        ),
      );
    server.once("error", onError);
    server.listen(listen.port, listen.host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return {
    url: `https://${host}:${port}`,
    port,
    async close(graceMs) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sessions) s.close();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), graceMs)));
      if ((await Promise.race([closed, late])) === "late") {
        for (const s of sessions) s.destroy();
        await closed;
      }
      clearTimeout(timer);
    },
  };
}
