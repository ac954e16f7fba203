/**
 * deploy/: what an operator runs on a management cluster, checked the way the tools that consume it read it:
 * - every manifest of the kpt package is valid against its kubernetes-models schema (and CAMINO's strict check
 *   for unknown fields), and says what the README promises: one replica with Recreate, gRPC probes on the health
 *   service, a non-root and read-only container, the data directory on the PersistentVolumeClaim, Secrets only
 *   referenced, a ServiceAccount with no token and no RBAC;
 * - the package's setters hydrate through CAMINO's own hydration (agent/cad/hydrate.ts), and real
 *   `kubectl kustomize` renders both the package as shipped and the hydrated one;
 * - the example domain configs parse with the agent's config parser;
 * - the Dockerfile is multi-stage, pinned, non-root and copies no key or secret, and .dockerignore keeps state,
 *   dependencies and keys out of the build context;
 * - the Grafana dashboard queries only metrics the agent exposes.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigMap, PersistentVolumeClaim, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { createMetrics } from "../../agent/agent-metrics/metrics.js";
import { readBlueprint } from "../../agent/cad/blueprint.js";
import { readFolder } from "../../agent/cad/folder.js";
import { hydratePackage, HydrationError } from "../../agent/cad/hydrate.js";
import type { Iesd } from "../../agent/cad/iesd.js";
import { loadConfig, parseConfig } from "../../agent/config/config.js";
import { validateObject } from "../../common/schema.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGE = join(ROOT, "deploy", "kpt", "camino-agent");
const EXAMPLES = join(ROOT, "deploy", "examples", "cluster");
const work = mkdtempSync(join(tmpdir(), "camino-deploy-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Obj = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };

/** Every model class the package's objects must validate against, by kind. */
const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  ServiceAccount,
  ConfigMap,
  PersistentVolumeClaim,
  Service,
  Deployment,
};

/** The objects of YAML text (several documents), empty documents left out. */
const objectsOf = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);

/** The package's resources, as its kustomization.yaml lists them. */
function packageObjects(): Obj[] {
  const k = parseYaml(readFileSync(join(PACKAGE, "kustomization.yaml"), "utf8")) as { resources: string[] };
  return k.resources.flatMap((f) => objectsOf(readFileSync(join(PACKAGE, f), "utf8")));
}

/** Validates with the kind's kubernetes-models class and with CAMINO's strict schema check; returns the problems. */
function schemaProblems(o: Obj): string[] {
  const Model = MODELS[o.kind];
  if (!Model) return [`${o.kind} is not a kind the package should hold`];
  const problems: string[] = [];
  try {
    new Model(o as never).validate();
  } catch (err) {
    problems.push(`${o.kind}/${o.metadata.name}: ${(err as Error).message}`);
  }
  for (const i of validateObject(o)) problems.push(`${o.kind}/${o.metadata.name}: ${i.path} ${i.message}`);
  return problems;
}

/** `kubectl kustomize DIR`: no cluster, no kubeconfig, a fresh cache. */
function kustomize(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(work, "kubectl-"));
  return new Promise((resolve) =>
    execFile(
      "kubectl",
      ["kustomize", dir, "--cache-dir", join(home, "cache")],
      { env: { PATH: process.env["PATH"] ?? "", HOME: home, KUBECONFIG: "/dev/null" }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; optional?: boolean } } }[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: Record<string, unknown>;
  startupProbe?: { grpc?: { port: number; service?: string } };
  livenessProbe?: { grpc?: { port: number; service?: string } };
  readinessProbe?: { grpc?: { port: number; service?: string } };
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
  initContainers: Container[];
  containers: Container[];
  volumes: {
    name: string;
    secret?: { secretName: string };
    configMap?: { name: string };
    persistentVolumeClaim?: { claimName: string };
  }[];
}
const podOf = (objects: Obj[]) =>
  (objects.find((o) => o.kind === "Deployment") as unknown as { spec: { template: { spec: PodSpec } } }).spec.template
    .spec;
const env = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;

describe("the kpt package deploy/kpt/camino-agent", () => {
  it("holds only valid objects: a ServiceAccount, the domain config, a PVC, a Service and the Deployment", () => {
    const objects = packageObjects();
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ["ConfigMap", "Deployment", "PersistentVolumeClaim", "Service", "ServiceAccount"].sort(),
    );
    expect(objects.flatMap(schemaProblems)).toEqual([]);
    // No Secret in the package (they are created by the operator) and no RBAC: the agent never calls this cluster.
    expect(objects.filter((o) => /Secret|Role|Binding/.test(o.kind))).toEqual([]);
  });

  it("runs one non-root agent at a time, probed over gRPC health, its data on the PVC, its secrets referenced", async () => {
    const objects = packageObjects();
    const deployment = objects.find((o) => o.kind === "Deployment") as unknown as {
      spec: { replicas: number; strategy: { type: string } };
    };
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe("Recreate");
    const pod = podOf(objects);
    const agent = pod.containers.find((c) => c.name === "agent") as Container;
    const grpc = agent.ports?.find((p) => p.name === "grpc")?.containerPort;
    expect(grpc).toBe(Number(env(agent, "CAMINO_GRPC_PORT")));
    // Kubernetes' native gRPC probes on the agent's gRPC port and its health service names.
    expect(agent.startupProbe?.grpc).toEqual({ port: grpc, service: "" });
    expect(agent.livenessProbe?.grpc).toEqual({ port: grpc, service: "" });
    expect(agent.readinessProbe?.grpc).toEqual({ port: grpc, service: "camino.v1.DomainManager" });
    // Non-root, read-only, no privilege; and the uid is the Dockerfile's USER.
    const uid = /^USER\s+(\d+)/m.exec(readFileSync(join(ROOT, "Dockerfile"), "utf8"))?.[1];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(uid) });
    for (const c of [...pod.initContainers, ...pod.containers])
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
    // Every mount is of a volume of the pod (the API server refuses the Deployment otherwise).
    for (const c of [...pod.initContainers, ...pod.containers])
      for (const m of c.volumeMounts ?? [])
        expect(
          pod.volumes.map((v) => v.name),
          `${c.name}: ${m.name}`,
        ).toContain(m.name);
    // The ServiceAccount exists and mounts no token.
    const sa = objects.find((o) => o.kind === "ServiceAccount") as Obj & { automountServiceAccountToken?: boolean };
    expect(pod.serviceAccountName).toBe(sa.metadata.name);
    expect([sa.automountServiceAccountToken, pod.automountServiceAccountToken]).toEqual([false, false]);

    // The config the agent reads is the ConfigMap's, and says what the pod provides: its data directory is the
    // PVC's mount, its signing key under it, every file it names mounted from a volume of the pod.
    const cm = objects.find((o) => o.kind === "ConfigMap") as Obj & { data: Record<string, string> };
    const configPath = agent.volumeMounts?.find((m) => m.name === "config")?.mountPath;
    expect(pod.volumes.find((v) => v.name === "config")?.configMap?.name).toBe(cm.metadata.name);
    const args = (agent as unknown as { args: string[] }).args;
    expect(args).toEqual(["agent", "--config", `${configPath}/camino.yaml`]);
    const envVars = Object.fromEntries((agent.env ?? []).flatMap((e) => (e.value ? [[e.name, e.value]] : [])));
    const config = parseConfig(parseYaml(cm.data["camino.yaml"] as string), { env: envVars, baseDir: "/" });
    const pvc = objects.find((o) => o.kind === "PersistentVolumeClaim") as Obj;
    const data = pod.volumes.find((v) => v.persistentVolumeClaim?.claimName === pvc.metadata.name)?.name;
    expect(agent.volumeMounts?.find((m) => m.name === data)?.mountPath).toBe(config.domain.dataDir);
    expect(config.auth.signingKeyFile.startsWith(`${config.domain.dataDir}/`)).toBe(true);
    const files = [
      ...config.edges.flatMap((e) => [e.kubeconfig?.file, e.caFile, e.tokenFile]),
      ...config.repositories.map((r) => r.credentialsFile),
      config.monitoring.prometheus?.bearerTokenFile,
      config.federation?.tls.certFile,
      config.federation?.tls.keyFile,
      config.federation?.meshRootCertFile,
      ...(config.federation?.peers ?? []).flatMap((p) => [p.caFile, p.jwksFile]),
    ].filter((f): f is string => f !== undefined);
    expect(files.length).toBeGreaterThan(5);
    const secretMounts = (agent.volumeMounts ?? []).filter((m) =>
      pod.volumes.some((v) => v.name === m.name && v.secret),
    );
    for (const f of files)
      expect(
        secretMounts.some((m) => dirname(f) === m.mountPath),
        f,
      ).toBe(true);
    // Secrets referenced, none shipped: every secret volume names a Secret the package does not define.
    expect(pod.volumes.filter((v) => v.secret).map((v) => v.secret?.secretName)).toEqual(
      expect.arrayContaining(["camino-agent-signing-key", "camino-agent-edges", "camino-agent-federation"]),
    );
    expect(agent.env?.find((e) => e.name === "REDIS_URL")?.valueFrom?.secretKeyRef).toMatchObject({
      name: "camino-agent-redis",
      optional: true,
    });
    // The Service routes the container's named ports.
    const svc = objects.find((o) => o.kind === "Service") as unknown as {
      spec: { ports: { name: string; targetPort: string }[]; selector: Record<string, string> };
    };
    expect(svc.spec.ports.map((p) => p.targetPort).sort()).toEqual((agent.ports ?? []).map((p) => p.name).sort());
    const labels = (deployment as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } })
      .spec.template.metadata.labels;
    expect(labels).toMatchObject(svc.spec.selector);
  });

  it("renders with real kubectl kustomize: the same valid objects, in the package's namespace", async () => {
    const out = await kustomize(PACKAGE);
    expect(out.code, out.stderr).toBe(0);
    const rendered = objectsOf(out.stdout);
    expect(rendered.map((o) => o.kind).sort()).toEqual(
      packageObjects()
        .map((o) => o.kind)
        .sort(),
    );
    expect(rendered.flatMap(schemaProblems)).toEqual([]);
    expect(new Set(rendered.map((o) => o.metadata.namespace))).toEqual(new Set(["camino-system"]));
  });

  it("hydrates its setters with CAMINO's own hydration, and the hydrated package renders", async () => {
    const files = await readFolder(PACKAGE);
    const blueprint = readBlueprint("camino-agent", files);
    expect(blueprint.setters.map((s) => s.name).sort()).toEqual(
      ["domain-id", "endpoint", "image", "log-level", "name", "namespace", "storage-size", "tag"].sort(),
    );
    expect(blueprint.setters.filter((s) => s.required)).toEqual([]);
    const setters = {
      name: "agent-q",
      namespace: "camino-q",
      image: "registry.internal/camino",
      tag: "1.2.3",
      "domain-id": "domain-q",
      endpoint: "https://camino.q.example:443",
      "storage-size": "50Gi",
      "log-level": "debug",
    };
    const iesd: Iesd = {
      intent: "management",
      revision: 1,
      package: "camino-agent",
      domain: "domain-q",
      edge: "management",
      namespace: setters.namespace,
      replicas: 1,
      resources: {},
      labels: {},
      blueprint: {
        name: "camino-agent",
        repository: "deploy",
        url: "https://git.example/camino.git",
        path: "deploy/kpt/camino-agent",
        revision: "v0.1.0",
        commit: "b".repeat(40),
      },
      deployment: { repository: "management-deploy", path: "camino-agent" },
      setters,
      inputs: [],
    };
    const h = hydratePackage(blueprint, iesd);
    const pod = podOf(h.objects as Obj[]);
    for (const c of [...pod.initContainers, ...pod.containers]) expect(c.image).toBe("registry.internal/camino:1.2.3");
    const agent = pod.containers[0] as Container;
    expect([env(agent, "CAMINO_DOMAIN_ID"), env(agent, "CAMINO_ENDPOINT"), env(agent, "CAMINO_LOG_LEVEL")]).toEqual([
      "domain-q",
      "https://camino.q.example:443",
      "debug",
    ]);
    expect(pod.serviceAccountName).toBe("agent-q");
    expect(pod.volumes.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName).toBe("agent-q-data");
    expect(pod.volumes.find((v) => v.name === "edges")?.secret?.secretName).toBe("agent-q-edges");
    const pvc = h.objects.find((o) => o["kind"] === "PersistentVolumeClaim") as {
      spec: { resources: { requests: { storage: string } } };
    };
    expect(pvc.spec.resources.requests.storage).toBe("50Gi");

    // The hydrated files, as a repository would hold them, render with kubectl kustomize into the new namespace.
    const dir = join(work, "hydrated");
    for (const [path, text] of h.files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const out = await kustomize(join(dir, "camino-agent"));
    expect(out.code, out.stderr).toBe(0);
    const rendered = objectsOf(out.stdout);
    expect(rendered.flatMap(schemaProblems)).toEqual([]);
    expect(new Set(rendered.map((o) => o.metadata.namespace))).toEqual(new Set(["camino-q"]));
    expect(rendered.map((o) => o.metadata.name).sort()).toEqual(
      ["agent-q", "agent-q", "agent-q", "agent-q-data", "agent-q"].sort(),
    );

    // Strict: a value no field takes is an error, not silently ignored.
    expect(() => hydratePackage(blueprint, { ...iesd, setters: { ...setters, replicas: "2" } })).toThrow(
      HydrationError,
    );
  });
});

describe("the example domain configs", () => {
  it("parse with the agent's config parser: two domains, real clusters, GitLab, Thanos, peers of each other", async () => {
    const a = await loadConfig(join(EXAMPLES, "domain-a.yaml"), {});
    const b = await loadConfig(join(EXAMPLES, "domain-b.yaml"), {});
    for (const c of [a, b]) {
      expect(c.monitoring.source).toBe("prometheus");
      expect(c.monitoring.prometheus?.url).toMatch(/^https:\/\/.*thanos/);
      expect(c.repositories.every((r) => r.url.startsWith("https://") && r.credentialsFile)).toBe(true);
      // Every edge has its deployment repository, and every deployment repository serves a configured edge.
      for (const e of c.edges) expect(c.repositories.find((r) => r.name === e.repository)?.edge).toBe(e.name);
      expect(c.edges.every((e) => e.kubeconfig || (e.server && e.tokenFile && e.caFile))).toBe(true);
    }
    expect(a.federation?.peers.map((p) => p.id)).toEqual([b.domain.id]);
    expect(b.federation?.peers.map((p) => p.id)).toEqual([a.domain.id]);
    expect(a.federation?.peers[0]?.endpoint).toBe(b.federation?.endpoint);
    expect(b.federation?.peers[0]?.endpoint).toBe(a.federation?.endpoint);
    // domain-a's config is the package's ConfigMap, word for word.
    const cm = objectsOf(readFileSync(join(PACKAGE, "configmap.yaml"), "utf8"))[0] as Obj & {
      data: Record<string, string>;
    };
    expect(cm.data["camino.yaml"]).toBe(readFileSync(join(EXAMPLES, "domain-a.yaml"), "utf8"));
  });
});

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: (op as string).toUpperCase(), args: rest.join(" ") };
    });
}

/** Every file under `path` (itself when a file). */
function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((f) => filesUnder(join(path, f)));
}

const SECRET_FILE = /(\.jwk|\.jwks\.json|\.pem|\.key|\.crt|\.p12|kubeconfig|git-credentials|-token|-password)$/;

describe("the Dockerfile", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const ops = instructions(dockerfile);

  it("is multi-stage on a pinned base image, builds with npm ci and prunes dev dependencies", () => {
    const froms = ops.filter((i) => i.op === "FROM").map((i) => i.args.split(/\s+/)[0] as string);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    // Pinned: a digest, or an exact x.y.z release tag; never latest or a floating major.
    for (const image of froms) expect(image, image).toMatch(/@sha256:[0-9a-f]{64}$|:\d+\.\d+\.\d+(-[a-z0-9.-]+)?$/);
    const runs = ops.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    expect(runs.some((r) => /npm prune --omit=dev|npm ci .*--omit=dev/.test(r))).toBe(true);
    // The runtime stage takes the build's output, not the sources' node_modules.
    const last = ops.map((i) => i.op).lastIndexOf("FROM");
    const runtime = ops.slice(last);
    expect(runtime.some((i) => i.op === "COPY" && /--from=build\b.*\/dist\b/.test(i.args))).toBe(true);
  });

  it("runs the agent with jemalloc: installs Debian's libjemalloc2 in the runtime stage and preloads it", () => {
    const last = ops.map((i) => i.op).lastIndexOf("FROM");
    const runtime = ops.slice(last);
    const install = runtime.find((i) => i.op === "RUN" && /apt-get install .*\blibjemalloc2\b/.test(i.args));
    expect(install?.args).toMatch(/ln -s .*libjemalloc\.so\.2"? \/usr\/local\/lib\/libjemalloc\.so\.2/);
    expect(runtime.some((i) => i.op === "ENV" && i.args === "LD_PRELOAD=/usr/local/lib/libjemalloc.so.2")).toBe(true);
  });

  it("runs as a non-root user", () => {
    const last = ops.map((i) => i.op).lastIndexOf("FROM");
    const users = ops.slice(last).filter((i) => i.op === "USER");
    expect(users.length).toBeGreaterThan(0);
    const user = (users.at(-1) as { args: string }).args.split(":")[0] as string;
    expect(["root", "0", ""]).not.toContain(user);
    // USER comes after the last COPY and RUN of the runtime stage: nothing after it runs as root.
    const idx = ops.lastIndexOf(users.at(-1) as { op: string; args: string });
    expect(ops.slice(idx).some((i) => i.op === "RUN")).toBe(false);
  });

  it("copies no key or secret from the build context, and takes no secret as a build argument", () => {
    const copies = ops.filter((i) => (i.op === "COPY" || i.op === "ADD") && !i.args.includes("--from="));
    expect(ops.some((i) => i.op === "ADD")).toBe(false);
    for (const c of copies) {
      const sources = c.args
        .split(/\s+/)
        .filter((a) => !a.startsWith("--"))
        .slice(0, -1);
      for (const s of sources) {
        // Never the whole context, and nothing under a source that looks like a key, a token or agent state.
        expect(s, c.args).not.toMatch(/^\.\/?$|\*/);
        const files = filesUnder(join(ROOT, s));
        expect(
          files.filter((f) => SECRET_FILE.test(f) || f.includes("/.camino/")),
          `COPY ${s}`,
        ).toEqual([]);
      }
    }
    expect(ops.filter((i) => (i.op === "ARG" || i.op === "ENV") && /TOKEN|PASSWORD|SECRET|KEY/i.test(i.args))).toEqual(
      [],
    );
  });

  it("has a .dockerignore that keeps agent state, dependencies and keys out of the build context", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const p of [".camino", "node_modules", "dist", ".git", "**/*.jwk", "**/*.pem", "**/*.key"])
      expect(ignored, p).toContain(p);
    // None of the sources the Dockerfile copies is ignored (the build would miss them).
    const copied = ops
      .filter((i) => i.op === "COPY" && !i.args.includes("--from="))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const s of copied) expect(ignored, s).not.toContain(s);
  });
});

describe("the Grafana dashboard", () => {
  it("queries only metrics the agent exposes, and shows each kind of figure", async () => {
    const dashboard = JSON.parse(
      readFileSync(join(ROOT, "deploy", "grafana", "camino-agent-dashboard.json"), "utf8"),
    ) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => e.match(/\bcamino_[a-z_]+/g) ?? []));
    const metrics = createMetrics({ domainId: "d", version: "0", processMetrics: false });
    const exposed = new Set(
      (await metrics.registry.getMetricsAsJSON()).flatMap((m) =>
        String(m.type) === "histogram" ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
      ),
    );
    expect([...used].filter((m) => !exposed.has(m))).toEqual([]);
    for (const m of [
      "camino_rpc_calls_total",
      "camino_rpc_duration_seconds_bucket",
      "camino_intents",
      "camino_admission_rejections_total",
      "camino_package_commit_seconds_bucket",
      "camino_package_sync_seconds_bucket",
      "camino_package_ready_seconds_bucket",
      "camino_intent_ready_seconds_bucket",
      "camino_edge_up",
      "camino_peer_up",
      "camino_label_cache_lookups_total",
    ])
      expect(used, m).toContain(m);
  });
});
