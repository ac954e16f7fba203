/**
 * How CLI commands reach an agent: gRPC over HTTP/2 (h2c for http://, TLS for https:// with an optional CA
 * file), a bounded timeout on every call, and the northbound token from --token, --token-file or CAMINO_TOKEN.
 */
import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseDuration } from "../../common/duration.js";
import { UsageError } from "./exit-codes.js";

/** Flags every command that calls an agent accepts (merge into a parseArgs options object). */
export const CLIENT_FLAGS = {
  server: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  ca: { type: "string" },
  timeout: { type: "string" },
} as const;

export const CLIENT_HELP = `  --server URL        the agent's gRPC address (env CAMINO_SERVER; default http://127.0.0.1:50051)
  --token JWT         a northbound token (env CAMINO_TOKEN; prefer --token-file: argv is visible to others)
  --token-file FILE   read the token from a file
  --ca FILE           CA certificate(s) to verify an https:// server
  --timeout DURATION  per-call deadline (default 10s)`;

export interface ClientFlags {
  server?: string | undefined;
  token?: string | undefined;
  "token-file"?: string | undefined;
  ca?: string | undefined;
  timeout?: string | undefined;
}

export interface AgentConnection {
  server: string;
  /** Call options: the deadline and, when a token is known, the authorization header. */
  callOptions: { timeoutMs: number; headers?: Record<string, string> };
  client<T extends DescService>(service: T): Client<T>;
}

/** Builds a connection from flags and the environment. @throws UsageError for a bad flag value. */
export function connect(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): AgentConnection {
  const server = flags.server ?? env["CAMINO_SERVER"] ?? "http://127.0.0.1:50051";
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(server)} is not a URL (e.g. http://127.0.0.1:50051)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UsageError(`--server must be http:// or https:// (is ${url.protocol})`);
  let timeoutMs = 10_000;
  if (flags.timeout) {
    try {
      timeoutMs = parseDuration(flags.timeout);
    } catch (err) {
      throw new UsageError(`--timeout: ${(err as Error).message}`);
    }
  }
  let token = flags.token ?? env["CAMINO_TOKEN"];
  if (flags["token-file"]) {
    try {
      token = readFileSync(flags["token-file"], "utf8").trim();
    } catch (err) {
      throw new UsageError(`--token-file: cannot read ${flags["token-file"]} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  let ca: Buffer | undefined;
  if (flags.ca) {
    try {
      ca = readFileSync(flags.ca);
    } catch (err) {
      throw new UsageError(`--ca: cannot read ${flags.ca} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  const transport = createGrpcTransport({ baseUrl: url.origin, ...(ca ? { nodeOptions: { ca } } : {}) });
  const callOptions: AgentConnection["callOptions"] = { timeoutMs };
  if (token) callOptions.headers = { authorization: `Bearer ${token}` };
  return { server: url.origin, callOptions, client: (service) => createClient(service, transport) };
}
