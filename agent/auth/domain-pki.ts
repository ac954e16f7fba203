/**
 * The certificates a domain needs to federate, made for the embedded default and for trying CAMINO out: a CA
 * of its own, the peer listener's certificate signed by it (also usable as the client certificate for mTLS),
 * and a separate mesh root certificate (the one its edges' istiod would sign workload identities with, sent to
 * peers in Hello). Made with the openssl command-line tool; keys are written with mode 0600. A real deployment
 * brings its own (any PEM files work in the `federation` config section).
 */
import { execFile } from "node:child_process";
import { access, chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { CaminoError } from "../errors.js";

const run = promisify(execFile);

/** The files {@link ensureDomainPki} makes (absolute paths). */
export interface DomainPki {
  caFile: string;
  certFile: string;
  keyFile: string;
  meshRootFile: string;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run("openssl", args, { cwd });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === "ENOENT" ? "openssl is not installed" : (e.stderr ?? e.message).trim().split("\n")[0];
    throw new CaminoError("ERR_KEY_UNREADABLE", `cannot make the domain's certificates: ${why}`, { cause: err });
  }
}

const newKey = (name: string, cwd: string) =>
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name], cwd);

async function selfSigned(cwd: string, name: string, subject: string, days: number): Promise<void> {
  await newKey(`${name}-key.pem`, cwd);
  await openssl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      `${name}-key.pem`,
      "-subj",
      subject,
      "-days",
      String(days),
      "-out",
      `${name}.pem`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    cwd,
  );
}

/**
 * Makes (once) a domain's CA, peer certificate for `hosts` (IP addresses and DNS names) and mesh root under
 * `dir`; existing files are kept, so a restarted demo keeps its identity.
 */
export async function ensureDomainPki(options: {
  dir: string;
  domainId: string;
  hosts: readonly string[];
  trustDomain: string;
  days?: number;
}): Promise<DomainPki> {
  const { dir } = options;
  const days = options.days ?? 825;
  const out: DomainPki = {
    caFile: join(dir, "ca.pem"),
    certFile: join(dir, "peer.pem"),
    keyFile: join(dir, "peer-key.pem"),
    meshRootFile: join(dir, "mesh-root.pem"),
  };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!(await exists(out.caFile))) await selfSigned(dir, "ca", `/O=CAMINO/CN=${options.domainId} federation CA`, days);
  if (!(await exists(out.certFile))) {
    await newKey("peer-key.pem", dir);
    await openssl(
      ["req", "-new", "-key", "peer-key.pem", "-subj", `/O=CAMINO/CN=${options.domainId}`, "-out", "peer.csr"],
      dir,
    );
    const san = options.hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
    await writeFile(
      join(dir, "peer.ext"),
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`,
    );
    await openssl(
      [
        "x509",
        "-req",
        "-in",
        "peer.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        String(days),
        "-extfile",
        "peer.ext",
        "-out",
        "peer.pem",
      ],
      dir,
    );
  }
  if (!(await exists(out.meshRootFile)))
    await selfSigned(dir, "mesh-root", `/O=${options.trustDomain}/CN=${options.domainId} mesh root`, days);
  for (const key of ["ca-key.pem", "peer-key.pem", "mesh-root-key.pem"]) await chmod(join(dir, key), 0o600);
  return out;
}
