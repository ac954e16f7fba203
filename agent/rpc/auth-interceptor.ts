/**
 * Northbound authentication and authorisation: every DomainManager call must carry
 * `authorization: Bearer <JWT>`; the token is verified, and the method's scope must be among its scopes.
 * The verified principal is passed to handlers as a context value.
 */
import { createContextKey, type Interceptor } from "@connectrpc/connect";
import { AuthenticationError, PermissionError } from "../errors.js";
import type { NorthboundVerifier, Principal } from "../auth/northbound-verifier.js";
import type { Scope } from "../auth/token.js";

/** The scope each DomainManager method requires. A method missing here is refused (fail closed). */
export const METHOD_SCOPES: Readonly<Record<string, Scope>> = {
  GetDomainInfo: "catalogue:read",
  ListCatalogue: "catalogue:read",
  ListEdges: "catalogue:read",
  ListPeers: "catalogue:read",
  ListSegments: "intents:read",
  RemoveSegment: "intents:write",
  ListRepositories: "repos:admin",
  RegisterRepository: "repos:admin",
  DeleteRepository: "repos:admin",
  PlanIntent: "intents:write",
  SubmitIntent: "intents:write",
  TerminateIntent: "intents:write",
  RollbackIntent: "intents:write",
  GetDeployment: "intents:read",
  ListDeployments: "intents:read",
  WatchDeployment: "intents:read",
  QueryMonitoring: "monitoring:read",
  ListAlerts: "monitoring:read",
  RotateKeys: "keys:admin",
};

/** The caller of the current call, set by the auth interceptor. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "principal" });

/** Creates the interceptor; `scopes` maps method names to the scope each requires. */
export function authInterceptor(
  verifier: NorthboundVerifier,
  scopes: Readonly<Record<string, string>> = METHOD_SCOPES,
): Interceptor {
  return (next) => async (req) => {
    const header = req.header.get("authorization");
    if (!header) throw new AuthenticationError("ERR_TOKEN_MISSING", "missing authorization header (Bearer token)");
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new AuthenticationError("ERR_TOKEN_MALFORMED", "authorization header must be `Bearer <token>`");
    const principal = await verifier.verify(match[1] as string);
    // Set before the scope check: a refusal still names who was refused (the audit trail reads it); the handler
    // never runs for a refused call, so nothing else can see it.
    req.contextValues.set(principalKey, principal);
    const needed = scopes[req.method.name];
    if (!needed) throw new PermissionError(`${req.method.name} is not open to northbound callers`);
    if (!principal.scopes.has(needed)) {
      throw new PermissionError(`${req.method.name} needs scope ${needed}`, { data: { scope: needed } });
    }
    return next(req);
  };
}
