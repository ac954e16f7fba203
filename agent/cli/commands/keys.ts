import { unlink } from "node:fs/promises";
import { resolve } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import { loadConfig } from "../../config/config.js";
import { nextKeyFile } from "../../auth/key-ring.js";
import { generateSigningKey, SIGNING_ALGORITHMS, writeKeyFiles, type SigningAlgorithm } from "../../auth/keys.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { OUTPUT_FLAG, outputFormat, outputHelp, structured } from "../output.js";
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
  --force           replace existing files (and drop a rotation under way: its next key is deleted)`,
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
    // A fresh key starts a fresh ring: a next key announced under the replaced key must not come back.
    if (values.force) {
      await unlink(nextKeyFile(keyFile)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    }
    io.stdout.write(`wrote signing key ${keyFile} (${alg}, kid ${key.kid})\nwrote public JWKS ${jwksFile}\n`);
    return EXIT.OK;
  },
};

export const keysRotateCommand: Command = {
  name: "keys rotate",
  summary: "announce the domain's next signing key; it signs after the overlap",
  help: `Usage: camino keys rotate [--alg EdDSA|ES256] [-o text|json|yaml] [client flags]

Asks the agent (RotateKeys, scope keys:admin) to create the domain's next signing key. The key is published
and announced to peers at once (GetKeys: both keys, signed by the current key); it starts signing after the
overlap (federation.keyOverlapSeconds), and the current key is retired some minutes later, when no token it
signed can still be valid. Calls keep flowing throughout. Refused while a rotation is under way.

  --alg ALG             EdDSA (Ed25519, default) or ES256 (P-256)
${outputHelp(["text", "json", "yaml"])}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CLIENT_FLAGS,
      alg: { type: "string" },
      ...OUTPUT_FLAG,
    });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const format = outputFormat(values.output, ["text", "json", "yaml"] as const);
    const alg = values.alg ?? "EdDSA";
    if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg))
      throw new UsageError(`--alg must be one of ${SIGNING_ALGORITHMS.join(", ")}`);
    const conn = connect(values, io.env);
    const r = await conn.client(DomainManager).rotateKeys({ algorithm: alg }, conn.callOptions);
    const out = {
      currentKeyId: r.currentKeyId,
      nextKeyId: r.nextKeyId,
      algorithm: alg,
      activatesAt: r.activatesAt ? timestampDate(r.activatesAt).toISOString() : "",
      retiresAt: r.retiresAt ? timestampDate(r.retiresAt).toISOString() : "",
    };
    if (format !== "text") {
      io.stdout.write(structured(out, format));
      return EXIT.OK;
    }
    io.stdout.write(
      `announced next key ${out.nextKeyId} (${alg})\n` +
        `  key ${out.currentKeyId} signs until ${out.activatesAt}\n` +
        `  key ${out.nextKeyId} signs from ${out.activatesAt}\n` +
        `  key ${out.currentKeyId} retires at ${out.retiresAt}\n`,
    );
    return EXIT.OK;
  },
};
