/**
 * What a watched edge keeps of each pod and workload (agent/edge/slim.ts): every reader of the copy reads the same
 * from it as from the object the API sent, and the copy is a fraction of that object's size.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podRequests } from "../../agent/edge/capacity.js";
import { IntentIndex } from "../../agent/edge/intent-index.js";
import { podReasonOf, workloadOfPod, workloadStatusOf, type WorkloadObject } from "../../agent/edge/readiness.js";
import { slimPod, slimWorkload } from "../../agent/edge/slim.js";

const labels = {
  "app.kubernetes.io/name": "sink",
  "camino.io/intent": "seed-1",
  "camino.io/package": "sink",
  "pod-template-hash": "7c9d",
};
const at = "2025-01-01T00:00:00Z";

/** A pod as the API lists it, with `ready` or a container waiting and the pod unschedulable. */
function apiPod(ready: boolean): V1Pod {
  const condition = (type: string, status: string, extra: Record<string, string> = {}) => ({
    type,
    status,
    lastProbeTime: null as unknown as undefined,
    lastTransitionTime: at as unknown as Date,
    ...extra,
  });
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "sink-7c9d-x1",
      generateName: "sink-7c9d-",
      namespace: "seed-1",
      uid: "0b6f5a4e-6c1c-4a8e-9d51-3f8e2d1c0a11",
      resourceVersion: "4242",
      creationTimestamp: at as unknown as Date,
      labels,
      annotations: { "kubectl.kubernetes.io/restartedAt": at },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "sink-7c9d",
          uid: "5e0c8f4a-1d2b-4c3d-8e9f-0a1b2c3d4e5f",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [{ manager: "kube-controller-manager", operation: "Update", apiVersion: "v1", fieldsType: "x" }],
    },
    spec: {
      nodeName: "node-1",
      containers: [
        {
          name: "sink",
          image: "registry.example/sink:1.2.3",
          ports: [{ containerPort: 8080, protocol: "TCP" }],
          env: [{ name: "MODE", value: "sink" }],
          resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "20m", memory: "32Mi" } },
        },
      ],
      initContainers: [{ name: "init", image: "busybox:1", resources: { requests: { cpu: "50m" } } }],
      serviceAccountName: "default",
      restartPolicy: "Always",
    },
    status: {
      phase: ready ? "Running" : "Pending",
      qosClass: "Burstable",
      hostIP: "10.0.0.1",
      podIP: "10.1.0.7",
      startTime: at as unknown as Date,
      conditions: [
        condition("Initialized", "True"),
        condition(
          "Ready",
          ready ? "True" : "False",
          ready ? {} : { reason: "ContainersNotReady", message: "not ready" },
        ),
        condition("ContainersReady", ready ? "True" : "False"),
        condition(
          "PodScheduled",
          ready ? "True" : "False",
          ready ? {} : { reason: "Unschedulable", message: "0/3 nodes are available" },
        ),
      ],
      containerStatuses: [
        {
          name: "sink",
          image: "registry.example/sink:1.2.3",
          imageID: "registry.example/sink@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
          containerID: "containerd://0123456789abcdef",
          ready,
          restartCount: 0,
          started: ready,
          state: ready
            ? { running: { startedAt: at as unknown as Date } }
            : { waiting: { reason: "ImagePullBackOff", message: "back-off pulling image" } },
          lastState: {},
        },
      ],
      initContainerStatuses: [
        {
          name: "init",
          image: "busybox:1",
          imageID: "busybox@sha256:0123",
          ready: true,
          restartCount: 0,
          state: { terminated: { exitCode: 0, reason: "Completed" } as never },
        },
      ],
    },
  };
}

const deployment = (): WorkloadObject =>
  ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "sink",
      namespace: "seed-1",
      uid: "9a8b7c6d-1d2b-4c3d-8e9f-0a1b2c3d4e5f",
      resourceVersion: "4240",
      generation: 3,
      creationTimestamp: at,
      labels,
      managedFields: [{ manager: "config-sync" }],
    },
    spec: { replicas: 2, selector: { matchLabels: labels }, template: { spec: { containers: [] } } },
    status: {
      observedGeneration: 3,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 1,
      availableReplicas: 1,
      conditions: [
        { type: "Available", status: "False", lastUpdateTime: at, reason: "MinimumReplicasUnavailable", message: "x" },
        { type: "Progressing", status: "True", lastUpdateTime: at, reason: "ReplicaSetUpdated", message: "y" },
      ],
    },
  }) as unknown as WorkloadObject;

const size = (o: unknown) => JSON.stringify(o).length;

describe("slimPod", () => {
  it("reads the same as the API's pod for every reader of the copy, waiting or ready", () => {
    for (const ready of [false, true]) {
      const pod = apiPod(ready);
      const slim = slimPod(pod);
      expect(podReasonOf(slim)).toEqual(podReasonOf(pod));
      expect(workloadOfPod(slim)).toBe(workloadOfPod(pod));
      expect(workloadOfPod(slim)).toBe("Deployment/sink");
      expect(podRequests(slim)).toEqual(podRequests(pod));
      expect(slim.spec?.nodeName).toBe("node-1");
      expect(slim.status?.phase).toBe(pod.status?.phase);
      expect(slim.metadata).toMatchObject({
        name: "sink-7c9d-x1",
        namespace: "seed-1",
        resourceVersion: "4242",
        labels,
      });
    }
    expect(podReasonOf(slimPod(apiPod(false)))?.reasons).toEqual([
      "ImagePullBackOff: sink (back-off pulling image)",
      "Unschedulable: 0/3 nodes are available",
    ]);
    const deleting = apiPod(false);
    (deleting.metadata as { deletionTimestamp?: unknown }).deletionTimestamp = at;
    expect(podReasonOf(slimPod(deleting))).toBeUndefined();
  });

  it("is indexed under its intent as the API's pod is", () => {
    const index = new IntentIndex<V1Pod>();
    index.apply("Pod", slimPod(apiPod(true)), false);
    expect([...index.of("seed-1")].map((x) => x.object.metadata?.name)).toEqual(["sink-7c9d-x1"]);
  });

  it("keeps a third or less of the API's pod: no uids, timestamps, images, managed fields or unread conditions", () => {
    const pod = apiPod(true);
    const slim = slimPod(pod);
    expect(size(slim)).toBeLessThan(size(pod) / 3);
    const text = JSON.stringify(slim);
    for (const gone of ["uid", "creationTimestamp", "managedFields", "image", "ContainersReady", "lastTransitionTime"])
      expect(text).not.toContain(gone);
  });
});

describe("slimWorkload", () => {
  it("reads the same status as the API's workload, without its conditions, template or managed fields", () => {
    const d = deployment();
    const slim = slimWorkload(d);
    expect(workloadStatusOf("Deployment", slim)).toEqual(workloadStatusOf("Deployment", d));
    expect(workloadStatusOf("Deployment", slim)).toMatchObject({ desired: 2, available: 1, intent: "seed-1" });
    expect(slim.status).toEqual({
      observedGeneration: 3,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 1,
      availableReplicas: 1,
    });
    expect(size(slim)).toBeLessThan(size(d) / 2);
    expect(JSON.stringify(slim)).not.toContain("conditions");
  });
});
