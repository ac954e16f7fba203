/**
 * Real kubectl against the edge emulator, over HTTP and over HTTPS with a bearer token: discovery, tables,
 * client-side and server-side apply, dry runs, validation errors as kubectl prints them, deletion, and
 * custom resources.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { kubectlFor, type Kubectl } from "../helpers/kubectl.js";
import { makePki } from "../helpers/tls.js";

let emulator: Emulator;
let k: Kubectl;
let ks: Kubectl;
const TOKEN = "edge-token-123";

const deployment = (name: string, image: string, labels = `app: ${name}`) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        ${labels}
    spec:
      containers:
        - name: web
          image: ${image}
          ports:
            - containerPort: 8080
`;

beforeAll(async () => {
  const pki = makePki(mkdtempSync(join(tmpdir(), "camino-emu-pki-")));
  emulator = await startEmulator({
    name: "edge-1",
    http: {},
    https: { cert: readFileSync(pki.serverCertFile), key: readFileSync(pki.serverKeyFile), token: TOKEN },
    nodes: [
      { name: "node-1", cpu: "4", memory: "8Gi" },
      { name: "node-2", cpu: "2", memory: "4Gi", labels: { zone: "north" } },
    ],
  });
  k = kubectlFor(emulator.httpUrl!);
  ks = kubectlFor(emulator.httpsUrl!, { token: TOKEN, caFile: pki.caFile });
});
afterAll(async () => {
  await emulator.close();
});

describe("kubectl against the emulator", () => {
  it("reads the version and the API resources, short names included", async () => {
    const v = await k(["version", "-o", "json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).serverVersion).toMatchObject({ major: "1", minor: "32" });
    const r = await k(["api-resources"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    expect(r.stdout).toMatch(/virtualservices\s+vs\s+networking.istio.io\/v1\s+true\s+VirtualService/);
    expect(r.stdout).toMatch(/rootsyncs\s+configsync.gke.io\/v1beta1\s+true\s+RootSync/);
    expect(r.stderr).toBe("");
  });

  it("shows nodes and pods as tables, wide and as YAML", async () => {
    const nodes = await k(["get", "nodes"]);
    expect(nodes.stdout.split("\n")[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    expect(nodes.stdout).toMatch(/node-1\s+Ready\s+<none>\s+\d+s\s+v1.32.0/);
    const wide = await k(["get", "nodes", "-o", "wide"]);
    expect(wide.stdout.split("\n")[0]).toContain("INTERNAL-IP");
    const pods = await k(["get", "pods", "-A"]);
    expect(pods.code).toBe(0);
    expect(pods.stderr).toContain("No resources found");
    const yaml = await k(["get", "node", "node-2", "-o", "yaml"]);
    expect(yaml.stdout).toContain("zone: north");
    expect(yaml.stdout).toMatch(/allocatable:\n\s+cpu: "2"/);
  });

  it("applies a Deployment, then updates it by strategic merge patch", async () => {
    const created = await k(["apply", "-f", k.file(deployment("web", "nginx:1.25"))]);
    expect(created, created.stderr).toMatchObject({ code: 0, stdout: "deployment.apps/web created\n" });
    const updated = await k(["apply", "-f", k.file(deployment("web", "nginx:1.27"))]);
    expect(updated.stdout).toBe("deployment.apps/web configured\n");
    const got = JSON.parse((await k(["get", "deploy", "web", "-o", "json"])).stdout);
    // The port's protocol is the server's default, as a real API server fills it in.
    expect(got.spec.template.spec.containers).toEqual([
      { name: "web", image: "nginx:1.27", ports: [{ containerPort: 8080, protocol: "TCP" }] },
    ]);
    expect(got.metadata.generation).toBe(2);
    expect(got.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]).toContain("nginx:1.27");
    const unchanged = await k(["apply", "-f", k.file(deployment("web", "nginx:1.27"))]);
    expect(unchanged.stdout).toBe("deployment.apps/web unchanged\n");
  });

  it("applies server-side, and a dry run persists nothing", async () => {
    const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  a: "1"\n`;
    const dry = await k(["apply", "--server-side", "--dry-run=server", "-f", k.file(cm)]);
    expect(dry.stdout).toBe("configmap/settings serverside-applied (server dry run)\n");
    expect((await k(["get", "cm", "settings"])).stderr).toContain('configmaps "settings" not found');
    const ssa = await k(["apply", "--server-side", "-f", k.file(cm)]);
    expect(ssa, ssa.stderr).toMatchObject({ code: 0, stdout: "configmap/settings serverside-applied\n" });
    const got = JSON.parse((await k(["get", "cm", "settings", "-o", "json", "--show-managed-fields"])).stdout);
    expect(
      got.metadata.managedFields.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`),
    ).toEqual(["kubectl/Apply"]);
    const dryDeploy = await k(["apply", "--dry-run=server", "-f", k.file(deployment("ghost", "nginx"))]);
    expect(dryDeploy.stdout).toBe("deployment.apps/ghost created (server dry run)\n");
    expect((await k(["get", "deploy", "ghost"])).code).toBe(1);
  });

  it("refuses invalid objects the way a real cluster does, naming the field", async () => {
    const mismatch = await k(["apply", "-f", k.file(deployment("bad", "nginx", "app: other"))]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain(
      'The Deployment "bad" is invalid: spec.template.metadata.labels: Invalid value: ',
    );
    expect(mismatch.stderr).toContain("`selector` does not match template `labels`");
    const unknown = await k([
      "apply",
      "-f",
      k.file(deployment("typo", "nginx").replace("replicas: 2", "replicas: 2\n  replicass: 3")),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown field "spec.replicass"');
    const vs = `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: route\n  namespace: default\nspec:\n  hosts: [web]\n  http:\n    - timeout: 5\n      route:\n        - destination: {host: web}\n`;
    const badVs = await k(["apply", "-f", k.file(vs)]);
    expect(badVs.code).toBe(1);
    expect(badVs.stderr).toContain(
      'The VirtualService "route" is invalid: spec.http[0].timeout: Invalid value: must be string',
    );
    const noNs = await k([
      "apply",
      "-f",
      k.file(deployment("lost", "nginx").replace("namespace: default", "namespace: nowhere")),
    ]);
    expect(noNs.stderr).toContain('namespaces "nowhere" not found');
  });

  it("deletes, and says NotFound for what is not there", async () => {
    await k(["apply", "-f", k.file(deployment("gone", "nginx"))]);
    const del = await k(["delete", "deployment", "gone"]);
    expect(del, del.stderr).toMatchObject({ code: 0, stdout: 'deployment.apps "gone" deleted\n' });
    const again = await k(["delete", "deployment", "gone"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Error from server (NotFound): deployments.apps "gone" not found');
  });

  it("serves custom resources once their CRD exists", async () => {
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
`;
    expect((await k(["apply", "-f", k.file(crd)])).stdout).toBe(
      "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n",
    );
    const w = `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: default\nspec:\n  size: 3\n`;
    const created = await k(["apply", "-f", k.file(w)]);
    expect(created, created.stderr).toMatchObject({ code: 0, stdout: "widget.example.com/w1 created\n" });
    const updated = await k(["apply", "-f", k.file(w.replace("size: 3", "size: 4"))]);
    expect(updated.stdout).toBe("widget.example.com/w1 configured\n");
    expect(JSON.parse((await k(["get", "wd", "w1", "-o", "json"])).stdout).spec).toEqual({ size: 4 });
    const bad = await k(["apply", "-f", k.file(w.replace("size: 3", 'size: "big"').replace("w1", "w2"))]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("spec.size");
  });

  it("requires the token over HTTPS", async () => {
    const ok = await ks(["get", "nodes", "-o", "name"]);
    expect(ok, ok.stderr).toMatchObject({ code: 0, stdout: "node/node-1\nnode/node-2\n" });
    // A wrong token rather than none: without one, kubectl would stop to ask for a password.
    const wrong = kubectlFor(emulator.httpsUrl!, { token: "not-the-token" });
    const refused = await wrong(["get", "nodes", "--insecure-skip-tls-verify"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "error: You must be logged in to the server (the server has asked for the client to provide credentials)",
    );
  });
});
