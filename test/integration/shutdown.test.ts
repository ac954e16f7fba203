/**
 * SIGTERM is a graceful shutdown: a call in flight finishes with its answer, a health Watch stream (here from
 * python3-grpcio) sees NOT_SERVING and then ends cleanly, new connections are refused, and the exit code is 0.
 */
import { readFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { generatePythonStubs, spawnPython } from "../helpers/python-client.js";

let agent: AgentProcess | undefined;
afterAll(async () => {
  await agent?.stop("SIGKILL");
});

/** Polls the agent's /metrics until `pattern` matches; bounded. */
async function waitForMetric(httpUrl: string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const text = await (await fetch(`${httpUrl}/metrics`)).text();
    if (pattern.test(text)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`metric ${pattern} never appeared`);
}

it("finishes in-flight calls, ends streams with NOT_SERVING, and exits 0 on SIGTERM", async () => {
  // The failpoint holds PlanIntent for a while, so SIGTERM lands while the call is in flight.
  agent = await startAgentProcess({ env: { CAMINO_FAILPOINTS: "plan-intent=delay(1500)" } });
  const stubs = generatePythonStubs();
  const watch = spawnPython(stubs, ["watch", agent.grpcTarget]);
  await watch.waitFor("SERVING");

  const token = await agent.token(["intents:write"]);
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  const intent = intentToMessage(parseIntentText(readFileSync(`${ROOT}/scenarios/paper-chain.yaml`, "utf8")));
  const call = client.planIntent({ intent }, { headers: { authorization: `Bearer ${token}` } });
  await waitForMetric(
    agent.httpUrl,
    /camino_rpc_in_flight\{service="camino.v1.DomainManager",method="PlanIntent",domain="domain-x"\} 1/,
  );

  const stopped = agent.stop("SIGTERM");
  const res = await call;
  expect(res.plan?.order).toEqual(["cnf1", "cnf2", "cnf3", "cnf4"]);
  await watch.waitFor("END OK");
  expect(watch.lines).toEqual(["SERVING", "NOT_SERVING", "END OK"]);
  expect(await watch.exited).toBe(0);
  expect(await stopped).toEqual({ code: 0, signal: null });
  expect(agent.logs.map((l) => l["msg"])).toContain("stopped");

  const after = await client
    .planIntent({ intent }, { headers: { authorization: `Bearer ${token}` }, timeoutMs: 2000 })
    .catch((e: unknown) => e);
  expect(after).toBeInstanceOf(Error);
  agent = undefined;
});
