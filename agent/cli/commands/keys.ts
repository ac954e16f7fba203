import { resolve } from "node:path";
import { loadConfig } from "../../config/config.js";
import { generateSigningKey, SIGNING_ALGORITHMS, writeKeyFiles, type SigningAlgorithm } from "../../auth/keys.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { parseFlags, type Command } from "../command.js";

export const keysGenerateCommand: Command = {
  name: "keys generate",
  summary: "make the domain's signing key and its public JWKS",
  help: `Usage: camino keys generate (--config FILE | --key-file FILE) [--jwks-file FILE] [--alg EdDSA|ES256] [--force]

Generates the domain's signing key: a private JWK written with mode 0600, and the public JWKS next to it
(or where --jwks-file says). It never overwrites an existing key unless --force is given.

  --config FILE     write to the config's auth.signingKeyFile
  --key-file FILE   write the private key here
  --jwks-file FILE  write the public JWKS here (default: the key file with .jwks.json)
  --alg ALG         EdDSA (Ed25519, default) or ES256 (P-256)
  --force           replace existing files`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      config: { type: "string", short: "c" },
      "key-file": { type: "string" },
      "jwks-file": { type: "string" },
      alg: { type: "string" },
      force: { type: "boolean" },
    });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const alg = (values.alg ?? "EdDSA") as SigningAlgorithm;
    if (!SIGNING_ALGORITHMS.includes(alg))
      throw new UsageError(`--alg must be one of ${SIGNING_ALGORITHMS.join(", ")}`);
    let keyFile = values["key-file"];
    if (!keyFile && values.config) keyFile = (await loadConfig(values.config, io.env)).auth.signingKeyFile;
    if (!keyFile) throw new UsageError("give --config or --key-file");
    keyFile = resolve(keyFile);
    const jwksFile = resolve(values["jwks-file"] ?? keyFile.replace(/(\.jwk|\.json)?$/, ".jwks.json"));
    const key = await generateSigningKey(alg);
    await writeKeyFiles(key, { keyFile, jwksFile, force: values.force ?? false });
    io.stdout.write(`wrote signing key ${keyFile} (${alg}, kid ${key.kid})\nwrote public JWKS ${jwksFile}\n`);
    return EXIT.OK;
  },
};
