import { loadConfig } from "../../config/config.js";
import { loadKeyRing } from "../../auth/key-ring.js";
import { mintNorthboundToken, SCOPES } from "../../auth/token.js";
import { parseDuration } from "../../../common/duration.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { parseFlags, type Command } from "../command.js";

export const tokenCommand: Command = {
  name: "token",
  summary: "mint a northbound token signed by the domain key",
  help: `Usage: camino token --config FILE --scope SCOPE [--scope SCOPE ...] [--subject NAME] [--ttl DURATION]
       camino token --key-file FILE --issuer DOMAIN --scope SCOPE ...

Prints a JWT (typ camino-nb+jwt) on stdout, for the Authorization header of northbound calls:
  TOKEN=$(camino token --config domain.yaml --scope intents:write)

  --scope SCOPE     ${SCOPES.join(", ")} (repeat, or comma-separate)
  --subject NAME    who the token stands for (default: the user running this)
  --ttl DURATION    lifetime, e.g. 15m, 1h (default 1h)
  --audience ID     the domain it is for (default: the issuer)`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      config: { type: "string", short: "c" },
      "key-file": { type: "string" },
      issuer: { type: "string" },
      audience: { type: "string" },
      scope: { type: "string", multiple: true },
      subject: { type: "string" },
      ttl: { type: "string" },
    });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const scopes = (values.scope ?? [])
      .flatMap((s) => s.split(","))
      .map((s) => s.trim())
      .filter(Boolean);
    if (scopes.length === 0) throw new UsageError("give at least one --scope");
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(", ")} (known: ${SCOPES.join(", ")})`);
    let ttlSeconds = 3600;
    if (values.ttl) {
      try {
        ttlSeconds = Math.ceil(parseDuration(values.ttl) / 1000);
      } catch (err) {
        throw new UsageError(`--ttl: ${(err as Error).message}`);
      }
    }
    let keyFile = values["key-file"];
    let issuer = values.issuer;
    let audience = values.audience;
    if (values.config) {
      const config = await loadConfig(values.config, io.env);
      keyFile ??= config.auth.signingKeyFile;
      issuer ??= config.domain.id;
      audience ??= config.auth.audience;
    }
    if (!keyFile || !issuer) throw new UsageError("give --config, or --key-file and --issuer");
    // The key that signs now, through a rotation too (the ring's files, read only).
    const key = (await loadKeyRing({ keyFile, readOnly: true })).current();
    const token = await mintNorthboundToken({
      key,
      issuer,
      audience: audience ?? issuer,
      subject: values.subject ?? io.env["USER"] ?? "operator",
      scopes,
      ttlSeconds,
    });
    io.stdout.write(`${token}\n`);
    return EXIT.OK;
  },
};
