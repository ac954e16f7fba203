/** A throwaway CA with a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl. */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestPki {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** PEM of the CA certificate. */
  ca: string;
}

const openssl = (args: string[], cwd: string) =>
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });

/** Writes a CA, a server and a client certificate (P-256, valid one day) into `dir`. */
export function makePki(dir: string): TestPki {
  const key = (name: string) =>
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name], dir);
  key("ca-key.pem");
  openssl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      "ca-key.pem",
      "-subj",
      "/CN=CAMINO test CA",
      "-days",
      "1",
      "-out",
      "ca.pem",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  const leaf = (name: string, cn: string, ext: string, serial: string) => {
    key(`${name}-key.pem`);
    openssl(["req", "-new", "-key", `${name}-key.pem`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-set_serial",
        serial,
        "-days",
        "1",
        "-out",
        `${name}.pem`,
        "-extfile",
        `${name}.ext`,
      ],
      dir,
    );
  };
  leaf(
    "server",
    "127.0.0.1",
    "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    "2",
  );
  leaf("client", "test-client", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n", "3");
  return {
    caFile: join(dir, "ca.pem"),
    serverCertFile: join(dir, "server.pem"),
    serverKeyFile: join(dir, "server-key.pem"),
    clientCertFile: join(dir, "client.pem"),
    clientKeyFile: join(dir, "client-key.pem"),
    ca: readFileSync(join(dir, "ca.pem"), "utf8"),
  };
}
