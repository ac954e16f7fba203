/** Hydration of the sample blueprints: valid packages, strict setters, schema errors with paths, PackageVariants. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { readBlueprint, type Blueprint } from "../../agent/cad/blueprint.js";
import { readFolder } from "../../agent/cad/folder.js";
import { hydratePackage, HydrationError } from "../../agent/cad/hydrate.js";
import { buildIesd, serviceHost, type IesdSource } from "../../agent/cad/iesd.js";
import { validatePackageVariant } from "../../agent/cad/package-variant-schema.js";
import { validateObject } from "../../common/schema.js";
import { parseIntentText } from "../../agent/intent/load.js";
import type { Intent, PackageIntent } from "../../agent/intent/model.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const blueprints = new Map<string, Blueprint>();
let paper: Intent;

beforeAll(async () => {
  for (const group of ["cnf", "network"]) {
    for (const name of readdirSync(join(ROOT, "blueprints", group))) {
      blueprints.set(name, readBlueprint(`${group}/${name}`, await readFolder(join(ROOT, "blueprints", group, name))));
    }
  }
  paper = parseIntentText(readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8"));
});

function source(intent: Intent, pkg: PackageIntent, bp: Blueprint, edge = "edge-1"): IesdSource {
  return {
    intent: intent.name,
    revision: 1,
    pkg,
    domain: "domain-x",
    edge,
    namespace: intent.name,
    blueprint: {
      name: bp.name,
      repository: "catalogue",
      url: "https://git.example/catalogue.git",
      path: bp.path,
      revision: "v1",
      commit: "a".repeat(40),
    },
    deployment: { repository: `${edge}-deploy`, path: `${intent.name}/${pkg.name}` },
    inputs: intent.links
      .filter((l) => l.from === pkg.name && l.to)
      .map((l) => ({
        link: `${l.from}-${l.to}`,
        package: l.to as string,
        host: serviceHost(l.to as string, intent.name),
        port: l.port,
        protocol: l.protocol,
      })),
  };
}

function hydrate(intent: Intent, name: string) {
  const pkg = intent.packages.find((p) => p.name === name)!;
  const bp = blueprints.get(pkg.blueprint)!;
  return hydratePackage(bp, buildIesd(source(intent, pkg, bp), bp));
}

function intentWith(pkg: Record<string, unknown>, links: unknown[] = []): Intent {
  return parseIntentText(
    JSON.stringify({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name: "t" },
      spec: { packages: [{ name: "p", ...pkg }], links },
    }),
  );
}

describe("the sample blueprints", () => {
  it("are the five CNFs and the network packages", () => {
    expect([...blueprints.keys()].sort()).toEqual([
      "chain-base",
      "chain-eastwest",
      "ingress-rule",
      "link-allow-gateway",
      "link-allow-local",
      "link-allow-remote",
      "link-authorization",
      "link-cross-domain-consumer",
      "link-cross-domain-provider",
      "link-destination",
      "link-external",
      "link-inter-edge-consumer",
      "link-route",
      "mesh-trust",
      "nginx-ingress",
      "traffic-sink",
      "upf",
      "video-analytics",
    ]);
  });

  it("render with their defaults into objects that pass the Kubernetes and Istio schemas", () => {
    for (const bp of blueprints.values()) {
      for (const [file, docs] of bp.resources) {
        for (const doc of docs) {
          const obj = doc.toJS() as Record<string, unknown>;
          expect(validateObject(obj), `${bp.path}/${file}`).toEqual([]);
        }
      }
    }
  });

  it("describe themselves for the catalogue", () => {
    const upf = blueprints.get("upf")!;
    expect(upf.exported).toBe(true);
    expect(upf.defaultResources).toEqual({ cpu: "500m", memory: "256Mi" });
    expect(upf.exposes).toEqual([
      { service: "upf", port: 8805, protocol: "UDP" },
      { service: "upf", port: 2152, protocol: "UDP" },
    ]);
    expect(upf.setters.find((s) => s.name === "version")).toMatchObject({ default: "2.1.0", required: false });
    const rule = blueprints.get("ingress-rule")!;
    expect(rule.prerequisites).toEqual([{ kind: "IngressClass", name: "nginx" }]);
    expect(rule.setters.filter((s) => s.required).map((s) => s.name)).toEqual(["backend", "host"]);
  });
});

describe("hydratePackage", () => {
  it("hydrates the paper's chain: image tag, replicas, resources, qos, namespace, labels, upstream addresses", () => {
    const h = hydrate(paper, "cnf2");
    expect([...h.files.keys()]).toEqual([
      "paper-chain/cnf2/Kptfile",
      "paper-chain/cnf2/configmap.yaml",
      "paper-chain/cnf2/deployment.yaml",
      "paper-chain/cnf2/iesd.yaml",
      "paper-chain/cnf2/service.yaml",
    ]);
    const dep = parseAllDocuments(h.files.get("paper-chain/cnf2/deployment.yaml")!)[0]!.toJS();
    expect(dep.metadata).toMatchObject({
      name: "cnf2",
      namespace: "paper-chain",
      labels: {
        "camino.io/intent": "paper-chain",
        "camino.io/package": "cnf2",
        "camino.io/domain": "domain-x",
        "camino.io/edge": "edge-1",
      },
    });
    expect(dep.spec.replicas).toBe(2);
    expect(dep.spec.template.metadata.labels["camino.io/package"]).toBe("cnf2");
    expect(dep.spec.selector.matchLabels["camino.io/intent"]).toBe("paper-chain");
    const c = dep.spec.template.spec.containers[0];
    expect(c.image).toBe("docker.io/oaisoftwarealliance/oai-upf:2.1.0");
    expect(c.resources).toEqual({
      requests: { cpu: "500m", memory: "256Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    });
    const cm = parseAllDocuments(h.files.get("paper-chain/cnf2/configmap.yaml")!)[0]!.toJS();
    expect(cm.data).toMatchObject({
      QOS: "gold",
      UPSTREAMS: "cnf3=cnf3.paper-chain.svc.cluster.local:8080,cnf4=cnf4.paper-chain.svc.cluster.local:5201",
    });
    const svc = parseAllDocuments(h.files.get("paper-chain/cnf2/service.yaml")!)[0]!.toJS();
    expect(svc.spec.selector["camino.io/package"]).toBe("cnf2");
  });

  it("records the upstream and its resolved commit in the Kptfile, and keeps the IESD as local config", () => {
    const h = hydrate(paper, "cnf1");
    const kpt = parseAllDocuments(h.files.get("paper-chain/cnf1/Kptfile")!)[0]!.toJS();
    expect(kpt.upstream).toEqual({
      type: "git",
      git: { repo: "https://git.example/catalogue.git", directory: "/cnf/nginx-ingress", ref: "v1" },
      updateStrategy: "resource-merge",
    });
    expect(kpt.upstreamLock.git.commit).toBe("a".repeat(40));
    const iesd = parseAllDocuments(h.files.get("paper-chain/cnf1/iesd.yaml")!)[0]!.toJS();
    expect(iesd.metadata.annotations["config.kubernetes.io/local-config"]).toBe("true");
    expect(iesd.spec).toMatchObject({
      intent: "paper-chain",
      package: "cnf1",
      edge: "edge-1",
      version: "1.9.4",
      qos: "gold",
      blueprint: { commit: "a".repeat(40), revision: "v1" },
    });
  });

  it("is deterministic: the same inputs give byte-identical files", () => {
    const a = hydrate(paper, "cnf2");
    const b = hydrate(paper, "cnf2");
    expect([...a.files]).toEqual([...b.files]);
  });

  it("expresses each package as a PackageVariant that passes porch's schema", () => {
    for (const name of ["cnf1", "cnf2", "cnf3", "cnf4"]) {
      const pv = hydrate(paper, name).packageVariant as {
        spec: {
          upstream: unknown;
          downstream: unknown;
          pipeline: { mutators: { image: string; configMap: Record<string, string> }[] };
        };
      };
      expect(validatePackageVariant(pv)).toEqual([]);
      expect(pv.spec.downstream).toEqual({ repo: "edge-1-deploy", package: `paper-chain/${name}` });
      expect(pv.spec.pipeline.mutators.map((m) => m.image.split("/").pop())).toEqual([
        "apply-setters:v0.2.0",
        "set-namespace:v0.4.1",
        "set-labels:v0.1.5",
      ]);
    }
    const pv = hydrate(paper, "cnf2").packageVariant as {
      spec: { pipeline: { mutators: { configMap: Record<string, string> }[] } };
    };
    expect(pv.spec.pipeline.mutators[0]!.configMap).toMatchObject({
      version: "2.1.0",
      replicas: "2",
      qos: "gold",
      namespace: "paper-chain",
    });
  });

  it("hydrates every sample blueprint, given its required setters, into valid objects and a valid PackageVariant", () => {
    const samples: Record<string, string> = {
      intent: "t",
      link: "a-b",
      consumer: "a",
      provider: "b",
      port: "8080",
      host: "api.partner.example",
      backend: "web",
      hosts: '["b.t.svc.cluster.local"]',
      "gateway-hosts": '["./b.t.domain-y.camino"]',
      principals: '["cluster.local/ns/t/sa/default"]',
      "target-port": "8080",
      "target-ports": '["8080"]',
      "subject-alt-names": '["spiffe://domain-y.camino/ns/t/sa/default"]',
      "gateway-address": "192.0.2.10",
      "gateway-port": "15443",
      "local-host": "b.t.svc.cluster.local",
      protocol: "TCP",
      "network-protocol": "TCP",
      resolution: "STATIC",
      cidr: "0.0.0.0/0",
      addresses: "[]",
      name: "remote-b-8080",
      "mesh-config": "caCertificates: []",
    };
    for (const bp of blueprints.values()) {
      const required = bp.setters.filter((s) => s.required && s.name !== "namespace").map((s) => s.name);
      const config = Object.fromEntries(required.map((r) => [r, samples[r] ?? "x"]));
      const intent = intentWith({ blueprint: bp.name, config });
      const h = hydrate(intent, "p");
      expect(validatePackageVariant(h.packageVariant), bp.name).toEqual([]);
      for (const [path, text] of h.files) {
        for (const doc of parseAllDocuments(text)) {
          const obj = doc.toJS();
          if (obj?.metadata?.annotations?.["config.kubernetes.io/local-config"] === "true") continue;
          expect(validateObject(obj), `${bp.name} ${path}`).toEqual([]);
          expect(obj.metadata.labels["camino.io/intent"], `${bp.name} ${path}`).toBe("t");
        }
      }
    }
  });

  it("rejects a PackageVariant with unknown fields, wrong types and refused values", () => {
    expect(
      validatePackageVariant({
        apiVersion: "config.porch.kpt.dev/v1alpha1",
        kind: "PackageVariant",
        metadata: { name: "x" },
        spec: {
          upstream: { repo: "r", package: 1 },
          downstream: { repo: "d", package: "p" },
          adoptionPolicy: "always",
          pipeline: { mutators: [{ image: "i", configMap: { a: 1 } }] },
          extra: true,
        },
      }),
    ).toEqual([
      { path: "spec.upstream.package", message: "must be a string" },
      { path: "spec.upstream.revision", message: "is required" },
      { path: "spec.adoptionPolicy", message: "must be one of adoptExisting, adoptNone" },
      { path: "spec.pipeline.mutators[0].configMap.a", message: "must be a string" },
      { path: "spec.extra", message: "unknown field" },
    ]);
  });

  it("in strict mode, names a value no setter takes and a required setter without a value", () => {
    const unused = intentWith({ blueprint: "traffic-sink", config: { COLOR: "blue" } });
    expect(() => hydrate(unused, "p")).toThrow(
      "p: value for setter COLOR is taken by no field of blueprint traffic-sink",
    );
    const rule = intentWith({ blueprint: "ingress-rule", config: { host: "chain.example.com" } });
    try {
      hydrate(rule, "p");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(HydrationError);
      expect((err as HydrationError).issues).toContainEqual({
        path: "p/ingress.yaml: spec.rules[0].http.paths[0].backend.service.name",
        message: "required setter backend has no value",
      });
    }
  });

  it("names package, file, object and field for a schema violation", () => {
    const bad = intentWith({
      blueprint: "ingress-rule",
      config: { host: "chain.example.com", backend: "web", "backend-port": "eighty" },
    });
    expect(() => hydrate(bad, "p")).toThrow(
      /p\/ingress.yaml: Ingress\/p: spec.rules\[0\].http.paths\[0\].backend.service.port.number: must be integer/,
    );
  });

  it("keeps an injected value one string: no extra object reaches the package", () => {
    const evil = intentWith({ blueprint: "traffic-sink", qos: "gold", config: {} });
    const h = hydrate(evil, "p");
    const sneaky = intentWith({
      blueprint: "nginx-ingress",
      config: { LOG_LEVEL: "x\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}" },
    });
    const files = hydrate(sneaky, "p").files;
    for (const text of files.values())
      expect(parseAllDocuments(text).map((d) => d.toJS()?.kind)).not.toContain("Secret");
    const cm = parseAllDocuments(files.get("t/p/configmap.yaml")!)[0]!.toJS();
    expect(cm.data.LOG_LEVEL).toBe("x\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}");
    expect(h.files.size).toBe(5);
  });
});
