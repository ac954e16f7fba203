/**
 * How a failed edge call is explained: by the HTTP status and the Status body of the client's ApiException, and
 * by system error codes along the cause chain (as node-fetch and Node give them), never by message text.
 */
import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { apiStatusOf, explainEdgeFailure, httpCodeOf } from "../../agent/edge/edge-errors.js";

/** An error as node-fetch reports a failed connection: a FetchError with the system code. */
const systemError = (code: string) =>
  Object.assign(new Error(`request to https://10.0.0.1:6443/api failed, reason: ${code}`), { code, type: "system" });

const apiError = (code: number, status?: Record<string, unknown>) =>
  new ApiException<string | undefined>(
    code,
    "Unsuccessful HTTP Request",
    status ? JSON.stringify(status) : undefined,
    {},
  );

describe("explainEdgeFailure", () => {
  it.each([
    ["ECONNREFUSED", "list nodes: connection refused"],
    ["ECONNRESET", "list nodes: the connection was reset (ECONNRESET)"],
    ["ETIMEDOUT", "list nodes: the connection timed out (ETIMEDOUT)"],
    ["EHOSTUNREACH", "list nodes: the host is unreachable (EHOSTUNREACH)"],
    ["ENOTFOUND", "list nodes: the host name does not resolve (ENOTFOUND)"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "list nodes: TLS verification failed (DEPTH_ZERO_SELF_SIGNED_CERT)"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "list nodes: TLS verification failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE)"],
    ["CERT_HAS_EXPIRED", "list nodes: TLS verification failed (CERT_HAS_EXPIRED)"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "list nodes: TLS verification failed (ERR_TLS_CERT_ALTNAME_INVALID)"],
    ["EPROTO", "list nodes: the connection failed (EPROTO)"],
  ])("reads the system code %s, also from a wrapped cause", (code, reason) => {
    for (const err of [systemError(code), new Error("wrapped", { cause: systemError(code) })]) {
      expect(explainEdgeFailure("edge-1", "list nodes", err)).toMatchObject({
        code: "ERR_EDGE_UNREACHABLE",
        message: `edge edge-1: ${reason}`,
        data: { edge: "edge-1", reason },
        cause: err,
      });
    }
  });

  it("does not take words in a message for a code", () => {
    const e = explainEdgeFailure("edge-1", "list nodes", new Error("certificate ECONNREFUSED socket hang up"));
    expect(e).toMatchObject({
      code: "ERR_EDGE_UNREACHABLE",
      message: "edge edge-1: list nodes: certificate ECONNREFUSED socket hang up",
    });
  });

  it("takes 401, and a 403 that names nothing, as the edge refusing who we are", () => {
    expect(explainEdgeFailure("e", "list pods", apiError(401))).toMatchObject({
      code: "ERR_EDGE_UNREACHABLE",
      message: "edge e: list pods: the edge refused the credentials (HTTP 401)",
    });
    const bare = apiError(403, {
      kind: "Status",
      status: "Failure",
      message: "forbidden: nope",
      reason: "Forbidden",
      code: 403,
    });
    expect(explainEdgeFailure("e", "list pods", bare)).toMatchObject({
      code: "ERR_EDGE_UNREACHABLE",
      message: "edge e: list pods: the edge refused the credentials (HTTP 403)",
    });
  });

  it("takes a 403 about an object, and other HTTP errors, as the edge refusing the request, with its message", () => {
    const terminating = apiError(403, {
      kind: "Status",
      message: "configmaps is forbidden: unable to create new content in namespace x because it is being terminated",
      reason: "Forbidden",
      details: {
        name: "x",
        kind: "configmaps",
        causes: [{ reason: "NamespaceTerminating", field: "metadata.namespace" }],
      },
      code: 403,
    });
    expect(explainEdgeFailure("e", "dry run of ConfigMap/c", terminating)).toMatchObject({
      code: "ERR_EDGE_API",
      message:
        "edge e: dry run of ConfigMap/c: configmaps is forbidden: unable to create new content in namespace x because it is being terminated",
    });
    expect(explainEdgeFailure("e", "read the RootSync", apiError(500))).toMatchObject({
      code: "ERR_EDGE_API",
      message: "edge e: read the RootSync: HTTP 500",
    });
  });

  it("finds the HTTP code and the Status through the cause chain", () => {
    const notFound = apiError(404, {
      kind: "Status",
      reason: "NotFound",
      message: 'rootsyncs "root-sync" not found',
      code: 404,
    });
    const explained = explainEdgeFailure("e", "read the RootSync", notFound);
    expect(httpCodeOf(explained)).toBe(404);
    expect(apiStatusOf(explained)).toMatchObject({ reason: "NotFound" });
    expect(apiStatusOf(apiError(502))).toBeUndefined();
    expect(httpCodeOf(systemError("ECONNRESET"))).toBeUndefined();
  });
});
