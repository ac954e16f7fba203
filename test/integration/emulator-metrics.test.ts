/**
 * The emulator's metrics endpoints (kube-state-metrics and the kubelet's cAdvisor), first as text checked
 * against the exposition format grammar, then scraped by a real Prometheus (Debian's package) from a small
 * HTTP server: the values a PromQL query returns are the ones a real cluster of that shape would report,
 * and a usage override for a workload changes what Prometheus scrapes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  defaultUsage,
  renderCadvisor,
  renderKubeStateMetrics,
  type UsageModel,
} from "../../emulator/metrics/exposition.js";
import { ObjectStore, type KubeObject } from "../../emulator/store.js";
import { freePort, until } from "../helpers/prometheus-server.js";

// ---------------------------------------------------------------------------------------------------------
// A small cluster, shaped as a real one reads back from its API server.

/** The clock the cAdvisor endpoint is rendered at; pods started ten minutes before it. */
const NOW = Date.parse("2025-03-01T12:00:00Z");
const STARTED = new Date(NOW - 600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
const MI = 1024 * 1024;

const containerId = (pod: string, container: string) =>
  createHash("sha256").update(`${pod}/${container}`).digest("hex");

function node(
  name: string,
  ip: string,
  allocatable: Record<string, string>,
  capacity: Record<string, string>,
  ready: "True" | "Unknown",
  osImage: string,
): KubeObject {
  const hb = "2025-03-01T11:59:50Z";
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      creationTimestamp: "2025-02-01T08:00:00Z",
      labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "node-role.kubernetes.io/edge": "" },
    },
    spec: { podCIDR: name === "node-1" ? "10.244.0.0/24" : "10.244.1.0/24", providerID: `emulated://${name}` },
    status: {
      capacity,
      allocatable,
      conditions: [
        {
          type: "MemoryPressure",
          status: ready === "True" ? "False" : "Unknown",
          reason: "KubeletHasSufficientMemory",
          lastHeartbeatTime: hb,
          lastTransitionTime: hb,
        },
        {
          type: "DiskPressure",
          status: ready === "True" ? "False" : "Unknown",
          reason: "KubeletHasNoDiskPressure",
          lastHeartbeatTime: hb,
          lastTransitionTime: hb,
        },
        {
          type: "Ready",
          status: ready,
          reason: ready === "True" ? "KubeletReady" : "NodeStatusUnknown",
          lastHeartbeatTime: hb,
          lastTransitionTime: hb,
        },
      ],
      addresses: [
        { type: "InternalIP", address: ip },
        { type: "Hostname", address: name },
      ],
      nodeInfo: {
        kernelVersion: "6.1.0-28-amd64",
        osImage,
        containerRuntimeVersion: "containerd://1.7.24",
        kubeletVersion: "v1.32.0",
        kubeProxyVersion: "v1.32.0",
        systemUUID: `uuid-${name}`,
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

interface ContainerSpec {
  name: string;
  image: string;
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

function pod(p: {
  ns: string;
  name: string;
  node?: string;
  hostIP?: string;
  podIP?: string;
  phase: "Running" | "Pending";
  labels: Record<string, string>;
  owner?: { apiVersion: string; kind: string; name: string };
  containers: ContainerSpec[];
}): KubeObject {
  const running = p.phase === "Running";
  const cond = (type: string, status: string) => ({ type, status, lastProbeTime: null, lastTransitionTime: STARTED });
  return {
    metadata: {
      name: p.name,
      namespace: p.ns,
      uid: `uid-${p.name}`,
      creationTimestamp: STARTED,
      labels: p.labels,
      ...(p.owner
        ? { ownerReferences: [{ ...p.owner, uid: `uid-${p.owner.name}`, controller: true, blockOwnerDeletion: true }] }
        : {}),
    },
    spec: {
      ...(p.node ? { nodeName: p.node } : {}),
      containers: p.containers.map((c) => ({
        name: c.name,
        image: c.image,
        resources: { ...(c.requests ? { requests: c.requests } : {}), ...(c.limits ? { limits: c.limits } : {}) },
      })),
      restartPolicy: "Always",
    },
    status: running
      ? {
          phase: "Running",
          hostIP: p.hostIP,
          podIP: p.podIP,
          startTime: STARTED,
          conditions: [
            cond("Initialized", "True"),
            cond("Ready", "True"),
            cond("ContainersReady", "True"),
            cond("PodScheduled", "True"),
          ],
          containerStatuses: p.containers.map((c) => ({
            name: c.name,
            image: c.image,
            imageID: `docker.io/library/${c.image}@sha256:${containerId("image", c.image)}`,
            containerID: `containerd://${containerId(p.name, c.name)}`,
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: STARTED } },
          })),
        }
      : {
          phase: "Pending",
          conditions: [
            {
              ...cond("PodScheduled", "False"),
              reason: "Unschedulable",
              message: "0/2 nodes are available: 2 Insufficient cpu.",
            },
          ],
        },
  };
}

const WEB_LABELS = { app: "web", "camino.io/intent": "chain", "pod-template-hash": "7c5d9f8b6d" };
const WEB_OWNER = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-7c5d9f8b6d" };
const WEB_CONTAINERS: ContainerSpec[] = [
  {
    name: "web",
    image: "nginx:1.27",
    requests: { cpu: "500m", memory: "256Mi" },
    limits: { cpu: "1", memory: "512Mi" },
  },
  {
    name: "envoy",
    image: "envoyproxy/envoy:v1.31",
    requests: { cpu: "100m", memory: "64Mi" },
    limits: { memory: "128Mi" },
  },
];

/** The objects, by type key, in the order given; `reverse` stores them the other way round. */
function clusterObjects(): [string, KubeObject][] {
  const namespace = (name: string, phase: string): [string, KubeObject] => [
    "/namespaces",
    {
      metadata: { name, uid: `uid-ns-${name}`, labels: { "kubernetes.io/metadata.name": name } },
      spec: { finalizers: ["kubernetes"] },
      status: { phase },
    },
  ];
  return [
    namespace("default", "Active"),
    namespace("kube-system", "Active"),
    namespace("camino-nf", "Active"),
    namespace("old-nf", "Terminating"),
    [
      "/nodes",
      node(
        "node-1",
        "10.0.0.11",
        { cpu: "4", memory: "7901144Ki", pods: "110", "ephemeral-storage": "56453061334", "hugepages-2Mi": "0" },
        { cpu: "4", memory: "8003544Ki", pods: "110", "ephemeral-storage": "61255492Ki", "hugepages-2Mi": "0" },
        "True",
        "Debian GNU/Linux 12 (bookworm)",
      ),
    ],
    [
      "/nodes",
      node(
        "node-2",
        "10.0.0.12",
        { cpu: "2", memory: "3Gi", pods: "110" },
        { cpu: "2", memory: "3Gi", pods: "110" },
        "Unknown",
        'Edge "OS" 1.0 \\ beta',
      ),
    ],
    [
      "apps/deployments",
      {
        metadata: { name: "web", namespace: "camino-nf", uid: "uid-web", generation: 2, labels: { app: "web" } },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: { containers: WEB_CONTAINERS } },
        },
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 2,
          availableReplicas: 2,
          unavailableReplicas: 1,
        },
      },
    ],
    [
      "apps/replicasets",
      {
        metadata: {
          name: "web-7c5d9f8b6d",
          namespace: "camino-nf",
          uid: "uid-web-7c5d9f8b6d",
          labels: WEB_LABELS,
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "Deployment",
              name: "web",
              uid: "uid-web",
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { replicas: 3 },
        status: { replicas: 3, readyReplicas: 2, availableReplicas: 2 },
      },
    ],
    [
      "apps/statefulsets",
      {
        metadata: { name: "upf", namespace: "camino-nf", uid: "uid-upf", generation: 1 },
        spec: { replicas: 1, serviceName: "upf" },
        status: { replicas: 1, readyReplicas: 1 },
      },
    ],
    [
      "apps/daemonsets",
      {
        metadata: { name: "node-agent", namespace: "kube-system", uid: "uid-node-agent", generation: 1 },
        spec: {},
        status: { desiredNumberScheduled: 2, numberReady: 2 },
      },
    ],
    [
      "/pods",
      pod({
        ns: "camino-nf",
        name: "web-1",
        node: "node-1",
        hostIP: "10.0.0.11",
        podIP: "10.244.0.21",
        phase: "Running",
        labels: WEB_LABELS,
        owner: WEB_OWNER,
        containers: WEB_CONTAINERS,
      }),
    ],
    [
      "/pods",
      pod({
        ns: "camino-nf",
        name: "web-2",
        node: "node-2",
        hostIP: "10.0.0.12",
        podIP: "10.244.1.22",
        phase: "Running",
        labels: WEB_LABELS,
        owner: WEB_OWNER,
        containers: WEB_CONTAINERS,
      }),
    ],
    [
      "/pods",
      pod({
        ns: "camino-nf",
        name: "web-3",
        phase: "Pending",
        labels: WEB_LABELS,
        owner: WEB_OWNER,
        containers: WEB_CONTAINERS,
      }),
    ],
    [
      "/pods",
      pod({
        ns: "camino-nf",
        name: "upf-0",
        node: "node-2",
        hostIP: "10.0.0.12",
        podIP: "10.244.1.30",
        phase: "Running",
        labels: {
          app: "upf",
          "camino.io/intent": "chain",
          "camino.io/networkFunction": "upf",
          "statefulset.kubernetes.io/pod-name": "upf-0",
        },
        owner: { apiVersion: "apps/v1", kind: "StatefulSet", name: "upf" },
        containers: [
          {
            name: "upf",
            image: "camino/upf:0.3",
            requests: { cpu: "2", memory: "1Gi" },
            limits: { cpu: "2", memory: "1Gi" },
          },
        ],
      }),
    ],
    [
      "/pods",
      pod({
        ns: "kube-system",
        name: "node-agent-x7k2p",
        node: "node-1",
        hostIP: "10.0.0.11",
        podIP: "10.0.0.11",
        phase: "Running",
        labels: {
          "app.kubernetes.io/name": "node-agent",
          "controller-revision-hash": "5f6b7c8d9",
          "pod-template-generation": "1",
        },
        owner: { apiVersion: "apps/v1", kind: "DaemonSet", name: "node-agent" },
        containers: [{ name: "agent", image: "camino/node-agent:0.3" }],
      }),
    ],
  ];
}

function clusterStore(reverse = false): ObjectStore {
  const store = new ObjectStore();
  const objects = clusterObjects();
  for (const [typeKey, o] of reverse ? objects.reverse() : objects) store.put(typeKey, o);
  return store;
}

// ---------------------------------------------------------------------------------------------------------
// The text exposition format 0.0.4, as Prometheus' parser reads it.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const HELP_LINE = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\\n]|\\[\\n])*$/;
const TYPE_LINE = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/;
const LABEL_PAIR = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
const SAMPLE_LINE = new RegExp(
  String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:${LABEL_PAIR})(?:,${LABEL_PAIR})*)?\})? ([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)(?: -?\d+)?$`,
);
const LABEL_PAIRS = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const unescapeLabel = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));

/** Parses exposition text, failing on any line outside the grammar, a sample before its TYPE, a repeated label or series. */
function parseExposition(text: string): Sample[] {
  expect(text.endsWith("\n")).toBe(true);
  const typed = new Map<string, string>();
  const seen = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      expect(line).toMatch(HELP_LINE);
      continue;
    }
    const type = TYPE_LINE.exec(line);
    if (type) {
      expect(typed.has(type[1] as string), `TYPE twice for ${type[1]}`).toBe(false);
      typed.set(type[1] as string, type[2] as string);
      continue;
    }
    const m = SAMPLE_LINE.exec(line);
    expect(m, `not a sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name, pairs, value] = m as RegExpExecArray;
    expect(name).toMatch(METRIC_NAME);
    expect(typed.has(name as string), `sample before TYPE: ${line}`).toBe(true);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (pairs ?? "").matchAll(LABEL_PAIRS)) {
      expect(labels[k as string], `label ${k} twice in ${line}`).toBeUndefined();
      labels[k as string] = unescapeLabel(v as string);
    }
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    expect(seen.has(series), `series twice: ${line}`).toBe(false);
    seen.add(series);
    samples.push({ name: name as string, labels, value: Number(value) });
  }
  return samples;
}

const find = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const one = (samples: Sample[], name: string, labels: Record<string, string>): number => {
  const found = find(samples, name, labels);
  expect(found, `${name}${JSON.stringify(labels)}`).toHaveLength(1);
  return (found[0] as Sample).value;
};

describe("metrics text, without Prometheus", () => {
  it("every line is HELP, TYPE or a sample in the 0.0.4 grammar, with label values escaped", () => {
    const ksm = parseExposition(renderKubeStateMetrics(clusterStore()));
    const cadvisor = parseExposition(renderCadvisor(clusterStore(), defaultUsage(), NOW));
    expect(ksm.length).toBeGreaterThan(100);
    expect(cadvisor).toHaveLength(5 * 6); // five series for each container of the four Running pods (web-1 and web-2 have two)
    expect(renderKubeStateMetrics(clusterStore())).toContain('os_image="Edge \\"OS\\" 1.0 \\\\ beta"');
    expect(one(ksm, "kube_node_info", { node: "node-2" })).toBe(1);
    expect(find(ksm, "kube_node_info", { node: "node-2" })[0]?.labels["os_image"]).toBe('Edge "OS" 1.0 \\ beta');
  });

  it("is the same text for the same store and time, whatever order objects were stored in", () => {
    expect(renderKubeStateMetrics(clusterStore(true))).toBe(renderKubeStateMetrics(clusterStore()));
    expect(renderCadvisor(clusterStore(true), defaultUsage(), NOW)).toBe(
      renderCadvisor(clusterStore(), defaultUsage(), NOW),
    );
  });

  it("reports what kube-state-metrics reports for nodes, pods, deployments and namespaces", () => {
    const s = parseExposition(renderKubeStateMetrics(clusterStore()));
    expect(one(s, "kube_node_status_allocatable", { node: "node-1", resource: "cpu", unit: "core" })).toBe(4);
    expect(one(s, "kube_node_status_allocatable", { node: "node-1", resource: "memory", unit: "byte" })).toBe(
      7901144 * 1024,
    );
    expect(one(s, "kube_node_status_allocatable", { node: "node-1", resource: "pods", unit: "integer" })).toBe(110);
    expect(
      one(s, "kube_node_status_allocatable", { node: "node-1", resource: "ephemeral_storage", unit: "byte" }),
    ).toBe(56453061334);
    expect(one(s, "kube_node_status_capacity", { node: "node-1", resource: "hugepages_2Mi", unit: "byte" })).toBe(0);
    expect(one(s, "kube_node_status_condition", { node: "node-2", condition: "Ready", status: "unknown" })).toBe(1);
    expect(one(s, "kube_node_status_condition", { node: "node-2", condition: "Ready", status: "true" })).toBe(0);
    expect(find(s, "kube_node_status_condition", { node: "node-1" })).toHaveLength(9);
    expect(
      one(s, "kube_pod_container_resource_requests", {
        pod: "web-1",
        container: "envoy",
        resource: "cpu",
        unit: "core",
        node: "node-1",
      }),
    ).toBe(0.1);
    expect(
      one(s, "kube_pod_container_resource_limits", {
        pod: "web-1",
        container: "web",
        resource: "memory",
        unit: "byte",
      }),
    ).toBe(512 * MI);
    expect(
      find(s, "kube_pod_container_resource_limits", { pod: "web-1", container: "envoy", resource: "cpu" }),
    ).toHaveLength(0);
    expect(
      one(s, "kube_pod_container_resource_requests", { pod: "web-3", container: "web", resource: "cpu", node: "" }),
    ).toBe(0.5);
    expect(
      find(s, "kube_pod_status_phase", { pod: "web-3" })
        .map((x) => [x.labels["phase"], x.value])
        .sort(),
    ).toEqual([
      ["Failed", 0],
      ["Pending", 1],
      ["Running", 0],
      ["Succeeded", 0],
      ["Unknown", 0],
    ]);
    expect(one(s, "kube_pod_status_ready", { pod: "web-2", condition: "true" })).toBe(1);
    expect(find(s, "kube_pod_status_ready", { pod: "web-3" })).toHaveLength(0);
    expect(find(s, "kube_pod_info", { pod: "web-1" })[0]?.labels).toMatchObject({
      namespace: "camino-nf",
      uid: "uid-web-1",
      node: "node-1",
      host_ip: "10.0.0.11",
      pod_ip: "10.244.0.21",
      created_by_kind: "ReplicaSet",
      created_by_name: "web-7c5d9f8b6d",
    });
    expect(find(s, "kube_pod_labels", { pod: "upf-0" })[0]?.labels).toEqual({
      namespace: "camino-nf",
      pod: "upf-0",
      uid: "uid-upf-0",
      label_app: "upf",
      label_camino_io_intent: "chain",
      label_camino_io_network_function: "upf",
      label_statefulset_kubernetes_io_pod_name: "upf-0",
    });
    expect(
      one(s, "kube_replicaset_owner", {
        replicaset: "web-7c5d9f8b6d",
        owner_kind: "Deployment",
        owner_name: "web",
        owner_is_controller: "true",
      }),
    ).toBe(1);
    const dep = (name: string) => one(s, name, { namespace: "camino-nf", deployment: "web" });
    expect([
      dep("kube_deployment_spec_replicas"),
      dep("kube_deployment_status_replicas"),
      dep("kube_deployment_status_replicas_available"),
      dep("kube_deployment_status_replicas_ready"),
      dep("kube_deployment_status_replicas_updated"),
      dep("kube_deployment_status_replicas_unavailable"),
    ]).toEqual([3, 3, 2, 2, 3, 1]);
    expect([dep("kube_deployment_metadata_generation"), dep("kube_deployment_status_observed_generation")]).toEqual([
      2, 2,
    ]);
    expect(one(s, "kube_namespace_status_phase", { namespace: "old-nf", phase: "Terminating" })).toBe(1);
    expect(one(s, "kube_namespace_status_phase", { namespace: "old-nf", phase: "Active" })).toBe(0);
  });

  it("names pod labels as kube-state-metrics does, suffixing keys that collide after sanitizing", () => {
    const store = new ObjectStore();
    store.put("/pods", {
      metadata: {
        name: "p",
        namespace: "default",
        uid: "u",
        labels: { "a.b": "dot", a_b: "underscore", "a-b": "dash", "helm.sh/chartVersion": "1.2" },
      },
      spec: { containers: [{ name: "c", image: "i" }] },
    });
    const labels = find(parseExposition(renderKubeStateMetrics(store)), "kube_pod_labels", { pod: "p" })[0]?.labels;
    expect(labels).toEqual({
      namespace: "default",
      pod: "p",
      uid: "u",
      label_a_b_conflict1: "dash",
      label_a_b_conflict2: "dot",
      label_a_b_conflict3: "underscore",
      label_helm_sh_chart_version: "1.2",
    });
  });

  it("models container usage from requests, the workload's override, limits and the clock", () => {
    const store = clusterStore();
    const usage = defaultUsage();
    const s = parseExposition(renderCadvisor(store, usage, NOW));
    expect(find(s, "container_memory_working_set_bytes", { pod: "web-3" })).toHaveLength(0);
    expect(one(s, "container_memory_working_set_bytes", { pod: "web-1", container: "web" })).toBe(128 * MI);
    expect(one(s, "container_memory_usage_bytes", { pod: "web-1", container: "web" })).toBe(160 * MI);
    expect(one(s, "container_cpu_usage_seconds_total", { pod: "web-1", container: "web" })).toBe(0.5 * 0.5 * 600);
    expect(one(s, "container_spec_cpu_shares", { pod: "web-1", container: "web" })).toBe(512);
    expect(one(s, "container_spec_memory_limit_bytes", { pod: "web-1", container: "envoy" })).toBe(128 * MI);
    expect(one(s, "container_memory_working_set_bytes", { pod: "node-agent-x7k2p", container: "agent" })).toBe(16 * MI);
    expect(one(s, "container_spec_cpu_shares", { pod: "node-agent-x7k2p" })).toBe(2);
    expect(one(s, "container_spec_memory_limit_bytes", { pod: "node-agent-x7k2p" })).toBe(0);
    const upf = find(s, "container_cpu_usage_seconds_total", { pod: "upf-0" })[0]?.labels;
    expect(upf).toEqual({
      container: "upf",
      namespace: "camino-nf",
      pod: "upf-0",
      node: "node-2",
      image: "camino/upf:0.3",
      name: containerId("upf-0", "upf"),
      id: `/kubepods/poduid-upf-0/${containerId("upf-0", "upf")}`,
    });
    expect(find(s, "container_cpu_usage_seconds_total", { pod: "web-1", container: "web" })[0]?.labels["id"]).toBe(
      `/kubepods/burstable/poduid-web-1/${containerId("web-1", "web")}`,
    );

    // Overrides by workload: a Deployment through its ReplicaSet; capped at the limit.
    usage.overrides.set("camino-nf/web", { memory: 3 });
    usage.overrides.set("camino-nf/upf", { cpu: 0.25 });
    const o = parseExposition(renderCadvisor(store, usage, NOW + 60_000));
    expect(one(o, "container_memory_working_set_bytes", { pod: "web-2", container: "web" })).toBe(512 * MI);
    expect(one(o, "container_memory_usage_bytes", { pod: "web-2", container: "web" })).toBe(512 * MI);
    expect(one(o, "container_cpu_usage_seconds_total", { pod: "web-2", container: "web" })).toBe(0.5 * 0.5 * 660);
    expect(one(o, "container_cpu_usage_seconds_total", { pod: "upf-0" })).toBe(0.25 * 2 * 660);
    expect(one(o, "container_memory_working_set_bytes", { pod: "upf-0" })).toBe(512 * MI);

    // One node's kubelet reports only its pods.
    const node2 = parseExposition(renderCadvisor(store, usage, NOW, "node-2"));
    expect([...new Set(node2.map((x) => x.labels["pod"]))].sort()).toEqual(["upf-0", "web-2"]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// A real Prometheus scraping both endpoints.

interface Running {
  proc: ChildProcess;
  url: string;
  exited: Promise<void>;
}

const store = clusterStore();
const usage: UsageModel = defaultUsage();
let clock = NOW;
let dir: string;
let server: Server;
let prometheus: Running | undefined;

async function stop(p: Running): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  const pid = p.proc.pid as number;
  process.kill(-pid, "SIGTERM");
  const killed = await Promise.race([
    p.exited.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
  ]);
  if (!killed) {
    process.kill(-pid, "SIGKILL");
    await p.exited;
  }
}

/** Starts Prometheus on a free port in its own process group; a port taken in the meantime means another try. */
async function startPrometheus(config: string): Promise<Running> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = spawn(
      "prometheus",
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, `data-${attempt}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      {
        cwd: dir,
        detached: true,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    const running: Running = { proc, url: `http://127.0.0.1:${port}`, exited };
    const state = await until("Prometheus to be ready", async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return "exited" as const;
      const res = await fetch(`${running.url}/-/ready`);
      return res.status === 200 ? ("ready" as const) : undefined;
    }).catch(async (err: unknown) => {
      await stop(running);
      throw new Error(`${String(err)}\n${stderr}`);
    });
    if (state === "ready") return running;
    await exited;
    if (!/address already in use/i.test(stderr) || attempt >= 5) throw new Error(`prometheus exited:\n${stderr}`);
  }
}

interface Result {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<Result[]> {
  const res = await fetch(`${prometheus?.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Result[] };
  };
  if (body.status !== "success" || body.data?.resultType !== "vector")
    throw new Error(`query ${expr}: ${body.error ?? JSON.stringify(body)}`);
  return body.data.result;
}

/** The query's one series' value once Prometheus has one (and, with `accept`, one it accepts); else the last seen. */
async function scraped(
  expr: string,
  accept: (v: number) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<number | undefined> {
  let last: number | undefined;
  await until(
    expr,
    async () => {
      const r = await query(expr);
      if (r.length > 1) throw new Error(`${expr}: ${r.length} series`);
      last = r[0] ? Number(r[0].value[1]) : undefined;
      return last !== undefined && accept(last) ? true : undefined;
    },
    timeoutMs,
  ).catch(() => undefined);
  return last;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "camino-prom-"));
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const body =
      path === "/metrics/kube-state-metrics"
        ? renderKubeStateMetrics(store)
        : path === "/metrics/cadvisor"
          ? renderCadvisor(store, usage, clock)
          : undefined;
    if (body === undefined) res.writeHead(404).end("not found\n");
    else res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: kube-state-metrics
    honor_labels: true
    metrics_path: /metrics/kube-state-metrics
    static_configs: [{ targets: ["${target}"] }]
  - job_name: kubelet-cadvisor
    honor_labels: true
    metrics_path: /metrics/cadvisor
    static_configs: [{ targets: ["${target}"] }]
`,
  );
  prometheus = await startPrometheus(config);
  await until(
    "both targets up",
    async () => {
      const res = await fetch(`${prometheus?.url}/api/v1/targets`);
      const body = (await res.json()) as {
        data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] };
      };
      const health = Object.fromEntries(
        body.data.activeTargets.map((t) => [t.labels["job"], t.health === "up" ? "up" : `${t.health} ${t.lastError}`]),
      );
      return health["kube-state-metrics"] === "up" && health["kubelet-cadvisor"] === "up" ? true : undefined;
    },
    60_000,
  );
});

afterAll(async () => {
  if (prometheus) await stop(prometheus);
  await new Promise((r) => server?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("scraped by a real Prometheus", () => {
  it("has the nodes' allocatable, capacity and conditions", async () => {
    expect(await scraped('kube_node_status_allocatable{node="node-1",resource="cpu",unit="core"}')).toBe(4);
    expect(await scraped('kube_node_status_allocatable{node="node-1",resource="memory",unit="byte"}')).toBe(8090771456);
    expect(await scraped('kube_node_status_allocatable{node="node-2",resource="pods",unit="integer"}')).toBe(110);
    expect(await scraped('kube_node_status_capacity{node="node-1",resource="memory"}')).toBe(8003544 * 1024);
    expect(await scraped('kube_node_status_condition{node="node-2",condition="Ready",status="unknown"}')).toBe(1);
    expect(await scraped('sum(kube_node_status_condition{condition="Ready",status="true"})')).toBe(1);
    const info = await query('kube_node_info{node="node-2"}');
    expect(info.map((r) => [r.metric["os_image"], r.metric["internal_ip"], r.metric["kubelet_version"]])).toEqual([
      ['Edge "OS" 1.0 \\ beta', "10.0.0.12", "v1.32.0"],
    ]);
  });

  it("has the pods' requests, labels, phase and readiness, and the deployments' replicas", async () => {
    expect(await scraped('kube_pod_container_resource_requests{resource="cpu",pod="web-1",container="web"}')).toBe(0.5);
    expect(await scraped('sum(kube_pod_container_resource_requests{resource="cpu",pod="web-1"})')).toBeCloseTo(0.6, 12);
    expect(await scraped('kube_pod_container_resource_requests{resource="memory",pod="upf-0",unit="byte"}')).toBe(
      1024 * MI,
    );
    expect(
      await scraped('sum by (node) (kube_pod_container_resource_requests{resource="cpu",node="node-2"})'),
    ).toBeCloseTo(2.6, 12);
    expect(await scraped('kube_deployment_status_replicas_available{deployment="web"}')).toBe(2);
    expect(await scraped('kube_deployment_spec_replicas{deployment="web"}')).toBe(3);
    expect(await scraped('kube_deployment_status_replicas_updated{deployment="web"}')).toBe(3);
    expect(await scraped('count(kube_pod_labels{label_camino_io_intent="chain"})')).toBe(4);
    expect((await query('kube_pod_labels{label_camino_io_intent="chain"}')).map((r) => r.metric["pod"]).sort()).toEqual(
      ["upf-0", "web-1", "web-2", "web-3"],
    );
    expect(await scraped('kube_pod_status_phase{pod="web-3",phase="Pending"}')).toBe(1);
    expect(await scraped('sum(kube_pod_status_phase{namespace="camino-nf",phase="Running"})')).toBe(3);
    expect(await scraped('sum(kube_pod_status_ready{namespace="camino-nf",condition="true"})')).toBe(3);
    // The join dashboards use: requests per owning controller.
    expect(
      await scraped(
        'sum by (created_by_name) (kube_pod_container_resource_requests{resource="cpu"} * on (namespace, pod) group_left (created_by_name) kube_pod_info{created_by_kind="StatefulSet"})',
      ),
    ).toBe(2);
  });

  it("has the containers' usage, and a workload's override changes what is scraped", async () => {
    expect(await scraped('container_memory_working_set_bytes{pod="web-1",container="web"}')).toBe(0.5 * 256 * MI);
    expect(await scraped('container_spec_memory_limit_bytes{pod="web-1",container="web"}')).toBe(512 * MI);
    expect(await scraped('container_spec_cpu_shares{pod="upf-0"}')).toBe(2048);
    expect(await scraped('container_cpu_usage_seconds_total{pod="upf-0"}')).toBe(0.5 * 2 * 600);
    expect(await query('container_memory_working_set_bytes{pod="web-3"}')).toEqual([]);

    // The counter grows with the clock.
    clock = NOW + 60_000;
    expect(await scraped('container_cpu_usage_seconds_total{pod="upf-0"}', (v) => v !== 600)).toBe(0.5 * 2 * 660);

    usage.overrides.set("camino-nf/web", { memory: 0.9 });
    usage.overrides.set("camino-nf/upf", { cpu: 0.25 });
    const expected = Math.round(0.9 * 256 * MI);
    expect(
      await scraped('container_memory_working_set_bytes{pod="web-1",container="web"}', (v) => v !== 128 * MI),
    ).toBe(expected);
    expect(
      await scraped('container_memory_working_set_bytes{pod="web-2",container="envoy"}', (v) => v !== 32 * MI),
    ).toBe(Math.round(0.9 * 64 * MI));
    expect(await scraped('container_cpu_usage_seconds_total{pod="upf-0"}', (v) => v !== 660)).toBe(0.25 * 2 * 660);
    // Other workloads keep the default share.
    expect(await scraped('container_memory_working_set_bytes{pod="upf-0"}')).toBe(512 * MI);
    expect(await scraped('container_memory_working_set_bytes{pod="node-agent-x7k2p"}')).toBe(16 * MI);
  });
});
