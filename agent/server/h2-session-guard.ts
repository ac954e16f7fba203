/**
 * Drops HTTP/2 connections that nghttp2 has given up on but Node keeps open.
 *
 * A request header field whose encoded value is over 64 KiB (nghttp2's fixed limit, NGHTTP2_HD_MAX_NV) is a
 * connection-level COMPRESSION_ERROR: nghttp2 sends GOAWAY and from then on wants neither to read nor to write.
 * nghttp2 documents that the application must then drop the connection; Node only stops reading, emits no event,
 * and leaves the socket open. A client that waits for the connection to close (gRPC C core: Python, C++, Ruby…)
 * then hangs until its own deadline. HTTP/1.1 has no such gap: it answers 431 at once.
 *
 * The symptom is visible from outside: bytes arrive, yet a PING submitted afterwards never leaves the queue. So,
 * when a connection has received bytes since the last look, the guard sends a PING; if that PING is still queued
 * and nothing at all was written after `stuckMs`, the session is destroyed and the client sees the connection
 * close (UNAVAILABLE) instead of waiting. A healthy connection sends the PING at once, and it is acknowledged.
 */
import type { ServerHttp2Session } from "node:http2";
import type { Logger } from "../log/logger.js";

/** The options of {@link guardHttp2Session}. */
export interface Http2SessionGuardOptions {
  logger: Logger;
  /** How often the connection is looked at, in milliseconds. Default 250. */
  intervalMs?: number;
  /** How long a PING may stay unsent, with nothing written, before the connection counts as dead. Default 1000. */
  stuckMs?: number;
}

/** Watches one server session until it closes (see the file comment). */
export function guardHttp2Session(session: ServerHttp2Session, options: Http2SessionGuardOptions): void {
  const intervalMs = options.intervalMs ?? 250;
  const stuckMs = options.stuckMs ?? 1000;
  let lastRead = 0;
  // When the outstanding probe was sent, and how much had been written then; 0 when none is outstanding.
  let probeAt = 0;
  let writtenAtProbe = 0;
  const timer = setInterval(() => {
    const socket = session.socket;
    if (session.destroyed || !socket) return;
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    if (probeAt !== 0) {
      if (Date.now() - probeAt >= stuckMs && written === writtenAtProbe && (session.state.outboundQueueSize ?? 0) > 0) {
        options.logger.warn("dropping an HTTP/2 connection the protocol layer has abandoned", {
          remote: socket.remoteAddress,
          reason: "a PING stayed unsent (e.g. a request header over 64 KiB ended the session)",
        });
        session.destroy();
      }
      return;
    }
    if (read === lastRead) return;
    lastRead = read;
    try {
      probeAt = Date.now();
      writtenAtProbe = written;
      const sent = session.ping(() => {
        probeAt = 0;
      });
      if (!sent) probeAt = 0;
    } catch {
      // The session is closing: nothing to guard.
      probeAt = 0;
    }
  }, intervalMs);
  timer.unref();
  session.once("close", () => clearInterval(timer));
}
