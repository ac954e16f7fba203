/** The `auth` section of the agent config: the domain's signing key, and whose tokens the API trusts. */
import { resolve } from "node:path";
import type { Jwks } from "../auth/keys.js";
import type { TrustedIssuer } from "../auth/northbound-verifier.js";
import { joinPath, type Checker } from "../../common/checker.js";
import { httpUrlProblem } from "./http-url.js";

/** An external issuer whose tokens the API accepts, with its audience filled in. */
export interface ConfiguredIssuer extends TrustedIssuer {
  /** The `aud` its tokens must carry. Default the section's {@link AuthConfig.audience}. */
  audience: string;
}

/** The `auth` section, parsed. */
export interface AuthConfig {
  /** The domain's private signing key (a JWK file from `camino keys generate`), absolute. Required. */
  signingKeyFile: string;
  /** The audience northbound tokens must name. Default the domain id. */
  audience: string;
  /** Leeway for `exp` and `nbf`, in seconds. Default 30 ({@link AUTH_DEFAULTS}). */
  clockToleranceSeconds: number;
  /** Longest lifetime (`exp - iat`) a token may have, in seconds. Default 86400, one day ({@link AUTH_DEFAULTS}). */
  maxTokenLifetimeSeconds: number;
  /** Portals and cross-domain orchestrators whose tokens are trusted. Default none. */
  externalIssuers: ConfiguredIssuer[];
}

/** Defaults of the `auth` section (the audience defaults to the domain id). */
export const AUTH_DEFAULTS = {
  clockToleranceSeconds: 30,
  maxTokenLifetimeSeconds: 86_400,
} as const;

/** What the `auth` section needs from outside it. */
export interface AuthSectionContext {
  /** The folder relative paths are resolved against. */
  baseDir: string;
  /** The domain id: the default audience. */
  domainId: string;
  /** JWKS files the section names, already read (absolute path → JWKS). */
  jwksFiles: ReadonlyMap<string, Jwks>;
}

function externalIssuers(c: Checker, v: unknown, audience: string, ctx: AuthSectionContext): ConfiguredIssuer[] {
  return c.list(v, "auth.externalIssuers", 32).flatMap((raw, i) => {
    const path = `auth.externalIssuers[${i}]`;
    const o = c.object(raw, path, ["issuer", "jwks", "jwksFile", "jwksUrl", "audience"]);
    if (!o) return [];
    const issuer = c.string(o["issuer"], joinPath(path, "issuer"), { required: true, max: 1024 });
    const url = c.string(o["jwksUrl"], joinPath(path, "jwksUrl"), { max: 2048, check: httpUrlProblem });
    const file = c.string(o["jwksFile"], joinPath(path, "jwksFile"), { max: 4096 });
    const inline = o["jwks"];
    const given = [o["jwksUrl"], o["jwksFile"], inline].filter((x) => x !== undefined && x !== null).length;
    if (given !== 1) c.add(path, "give exactly one of jwks, jwksFile and jwksUrl");
    let jwks: Jwks | undefined;
    if (inline !== undefined) {
      const keys = (inline as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys) || keys.length === 0)
        c.add(joinPath(path, "jwks"), "must be a JWKS with a non-empty keys list");
      else jwks = { keys } as Jwks;
    }
    if (file) {
      jwks = ctx.jwksFiles.get(resolve(ctx.baseDir, file));
      if (!jwks) c.add(joinPath(path, "jwksFile"), `${file} cannot be read as a JWKS`);
    }
    const own = c.string(o["audience"], joinPath(path, "audience"), { max: 1024 });
    if (!issuer) return [];
    const out: ConfiguredIssuer = { issuer, audience: own ?? audience };
    if (jwks) out.jwks = jwks;
    if (url) out.jwksUrl = url;
    return [out];
  });
}

/** Checks the `auth` section; problems are added to `c` with their paths. */
export function parseAuthSection(c: Checker, v: unknown, ctx: AuthSectionContext): AuthConfig {
  const a =
    c.object(v, "auth", [
      "signingKeyFile",
      "audience",
      "clockToleranceSeconds",
      "maxTokenLifetimeSeconds",
      "externalIssuers",
    ]) ?? {};
  const signingKeyFile = c.string(a["signingKeyFile"], "auth.signingKeyFile", { required: true, max: 4096 });
  const audience = c.string(a["audience"], "auth.audience", { max: 1024 }) ?? ctx.domainId;
  return {
    signingKeyFile: signingKeyFile ? resolve(ctx.baseDir, signingKeyFile) : "",
    audience,
    clockToleranceSeconds:
      c.integer(a["clockToleranceSeconds"], "auth.clockToleranceSeconds", 0, 600) ??
      AUTH_DEFAULTS.clockToleranceSeconds,
    maxTokenLifetimeSeconds:
      c.integer(a["maxTokenLifetimeSeconds"], "auth.maxTokenLifetimeSeconds", 60, 31_536_000) ??
      AUTH_DEFAULTS.maxTokenLifetimeSeconds,
    externalIssuers: externalIssuers(c, a["externalIssuers"], audience, ctx),
  };
}
