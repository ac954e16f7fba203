/**
 * Minting northbound tokens (`camino token`): a JWT with `typ: camino-nb+jwt`, signed by the domain key,
 * issued by and for the domain, with the scopes as an RFC 8693 space-separated `scope` claim.
 */
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type { SigningKey } from "./keys.js";

/** The JOSE `typ` of northbound tokens. */
export const NORTHBOUND_TOKEN_TYPE = "camino-nb+jwt";

/** Every scope a northbound method may require. */
export const SCOPES = [
  "intents:write",
  "intents:read",
  "intents:force",
  "catalogue:read",
  "monitoring:read",
  "monitoring:detail",
  "repos:admin",
  "keys:admin",
] as const;
export type Scope = (typeof SCOPES)[number];

export interface MintTokenOptions {
  key: SigningKey;
  /** The issuing domain id. */
  issuer: string;
  /** The domain the token is for; usually the issuer. */
  audience: string;
  /** Who the token stands for (a user or a system). */
  subject: string;
  scopes: readonly string[];
  /** Lifetime in seconds. Default 3600. */
  ttlSeconds?: number;
  /** The clock; default now. */
  now?: Date;
}

/** Signs a northbound token. */
export async function mintNorthboundToken(options: MintTokenOptions): Promise<string> {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ scope: [...new Set(options.scopes)].join(" ") })
    .setProtectedHeader({ alg: options.key.alg, kid: options.key.kid, typ: NORTHBOUND_TOKEN_TYPE })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + (options.ttlSeconds ?? 3600))
    .setJti(randomUUID())
    .sign(options.key.privateKey);
}
