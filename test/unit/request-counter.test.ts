/**
 * The counting proxy the closed-loop benchmark puts in front of each edge (test/helpers/request-counter.ts) is a
 * witness: what it counts must be what the client did, not an artefact of the proxy. A client that keeps its
 * connection alive is seen opening one connection for several requests, one that does not opens one per request;
 * answers (status, headers, body) reach the client unchanged; a server that refuses the connection leaves the
 * client with a failed connection, not an answer of the proxy's own.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startRequestCounter, type RequestCounter } from "../helpers/request-counter.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A server answering every request with its method and URL, status 203 and a header of its own. */
async function echoServer(): Promise<string> {
  const server = http.createServer((req, res) => {
    res.writeHead(203, { "content-type": "application/json", "x-echo": "yes" });
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function counterFor(target: string): Promise<RequestCounter> {
  const counter = await startRequestCounter({ target });
  closers.push(() => counter.close());
  return counter;
}

function get(url: string, agent: http.Agent): Promise<{ status: number; echo: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, echo: String(res.headers["x-echo"] ?? ""), body }));
      })
      .on("error", reject);
  });
}

describe("request counter", () => {
  it("counts requests by method and path and passes answers on unchanged", async () => {
    const counter = await counterFor(await echoServer());
    const agent = new http.Agent({ keepAlive: true });
    closers.push(async () => agent.destroy());
    const first = await get(`${counter.url}/apis/apps/v1/deployments?labelSelector=a%3Db`, agent);
    await get(`${counter.url}/apis/apps/v1/deployments`, agent);
    await get(`${counter.url}/api/v1/pods`, agent);
    expect(first).toEqual({
      status: 203,
      echo: "yes",
      body: JSON.stringify({ method: "GET", url: "/apis/apps/v1/deployments?labelSelector=a%3Db" }),
    });
    expect(Object.fromEntries(counter.counts())).toEqual({
      "GET /apis/apps/v1/deployments": 2,
      "GET /api/v1/pods": 1,
    });
    counter.reset();
    expect(counter.counts().size).toBe(0);
    expect(counter.connections()).toBe(0);
  });

  it("sees one connection for a client that keeps it alive, and one per request for one that does not", async () => {
    const counter = await counterFor(await echoServer());
    const keep = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const fresh = new http.Agent({ keepAlive: false });
    closers.push(async () => {
      keep.destroy();
      fresh.destroy();
    });
    for (let i = 0; i < 3; i++) await get(`${counter.url}/x`, keep);
    expect(counter.connections()).toBe(1);
    counter.reset();
    for (let i = 0; i < 3; i++) await get(`${counter.url}/x`, fresh);
    expect(counter.connections()).toBe(3);
    expect(counter.counts().get("GET /x")).toBe(3);
  });

  it("fails the client's connection when the server refuses it", async () => {
    // A port that was free a moment ago: nothing listens there.
    const gone = http.createServer();
    await new Promise<void>((resolve) => gone.listen(0, "127.0.0.1", resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((r) => gone.close(r));
    const counter = await counterFor(`http://127.0.0.1:${port}`);
    const agent = new http.Agent({ keepAlive: false });
    closers.push(async () => agent.destroy());
    await expect(get(`${counter.url}/x`, agent)).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(counter.counts().get("GET /x")).toBe(1);
  });
});
