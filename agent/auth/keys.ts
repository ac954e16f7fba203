/**
 * The domain's signing key: generated once (`camino keys generate`), kept as a private JWK file readable only
 * by its owner, published as a JWKS. The key id is the RFC 7638 thumbprint, so it is stable and derivable.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";
import { CaminoError } from "../errors.js";

/** Signature algorithms a domain key may use. */
export type SigningAlgorithm = "EdDSA" | "ES256";
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ["EdDSA", "ES256"];

/** A loaded signing key. */
export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  /** The public half as a JWK, with kid, alg and use. */
  publicJwk: JWK;
}

/** A JSON Web Key Set. */
export interface Jwks {
  keys: JWK[];
}

/** A freshly generated key pair as JWKs. */
export interface GeneratedKey {
  kid: string;
  alg: SigningAlgorithm;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Generates a signing key (Ed25519 by default, or P-256). */
export async function generateSigningKey(alg: SigningAlgorithm = "EdDSA"): Promise<GeneratedKey> {
  const { publicKey, privateKey } = await generateKeyPair(
    alg,
    alg === "EdDSA" ? { crv: "Ed25519", extractable: true } : { extractable: true },
  );
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const meta = { kid, alg, use: "sig" };
  return { kid, alg, privateJwk: { ...(await exportJWK(privateKey)), ...meta }, publicJwk: { ...pub, ...meta } };
}

/** Options of {@link writeKeyFiles}. */
export interface WriteKeyOptions {
  /** Path of the private JWK file (written with mode 0600). */
  keyFile: string;
  /** Path of the public JWKS file. */
  jwksFile: string;
  /** Replace existing files. Default false: an existing key is never silently overwritten. */
  force?: boolean;
}

/** Writes a generated key: the private JWK (0600) and the public JWKS. */
export async function writeKeyFiles(key: GeneratedKey, options: WriteKeyOptions): Promise<void> {
  const flag = options.force ? "w" : "wx";
  await mkdir(dirname(options.keyFile), { recursive: true });
  await mkdir(dirname(options.jwksFile), { recursive: true });
  try {
    await writeFile(options.keyFile, `${JSON.stringify(key.privateJwk, null, 2)}\n`, { mode: 0o600, flag });
    await chmod(options.keyFile, 0o600);
    await writeFile(options.jwksFile, `${JSON.stringify({ keys: [key.publicJwk] }, null, 2)}\n`, { flag });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new CaminoError(
        "ERR_KEY_EXISTS",
        `${(err as NodeJS.ErrnoException).path ?? options.keyFile} exists; pass --force to replace it`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** Reads a private JWK file written by {@link writeKeyFiles}. */
export async function loadSigningKey(keyFile: string): Promise<SigningKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(keyFile, "utf8")) as JWK;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "does not exist (create it with `camino keys generate`)"
        : code
          ? `cannot be read (${code})`
          : "is not a JSON Web Key";
    throw new CaminoError("ERR_KEY_UNREADABLE", `signing key file ${keyFile} ${why}`, { cause: err });
  }
  return importSigningKey(jwk, `signing key file ${keyFile}`);
}

/**
 * Imports a private JWK as a {@link SigningKey}; `what` names where it came from in errors.
 * @throws CaminoError ERR_KEY_UNREADABLE when it is not a private EdDSA or ES256 JWK.
 */
export async function importSigningKey(jwk: JWK, what: string): Promise<SigningKey> {
  const alg = jwk?.alg as SigningAlgorithm;
  if (jwk === null || typeof jwk !== "object" || !SIGNING_ALGORITHMS.includes(alg) || typeof jwk.d !== "string") {
    throw new CaminoError("ERR_KEY_UNREADABLE", `${what} must hold a private ${SIGNING_ALGORITHMS.join(" or ")} JWK`);
  }
  const { d: _d, ...pub } = jwk;
  const kid = jwk.kid ?? (await calculateJwkThumbprint(pub));
  let privateKey: CryptoKey;
  try {
    privateKey = (await importJWK(jwk, alg)) as CryptoKey;
  } catch (err) {
    throw new CaminoError("ERR_KEY_UNREADABLE", `${what} holds a key that cannot be imported`, { cause: err });
  }
  return { kid, alg, privateKey, publicJwk: { ...pub, kid, alg, use: "sig" } };
}
