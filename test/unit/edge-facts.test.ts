/**
 * The edge facts "why is it not READY" reads: a RootSync's status (the commit it is at, its errors with the
 * objects they name) and a pod's reasons for not being ready, as the edge reports them.
 */
import { describe, expect, it } from "vitest";
import { podReasonOf, workloadOfPod, type PodObject } from "../../agent/edge/readiness.js";
import { resourceLabel, rootSyncStatusOf } from "../../agent/edge/root-sync.js";

describe("rootSyncStatusOf", () => {
  it("gives the commit, the errors of every phase and the objects each names", () => {
    const s = rootSyncStatusOf(
      {
        metadata: { generation: 2 },
        status: {
          observedGeneration: 2,
          lastSyncedCommit: "a".repeat(40),
          source: { errors: [{ code: "2004", errorMessage: "KNV2004: unable to sync repo" }] },
          sync: {
            commit: "b".repeat(40),
            errors: [
              {
                code: "2009",
                errorMessage: "KNV2009: failed to apply Deployment/shop/web: injected sync fault",
                resources: [
                  {
                    name: "web",
                    namespace: "shop",
                    sourcePath: "shop/web/d.yaml",
                    gvk: { group: "apps", version: "v1", kind: "Deployment" },
                  },
                ],
              },
              // An edge that names the object only in its message.
              { code: "2009", errorMessage: "KNV2009: failed to apply Namespace/shop: forbidden" },
            ],
          },
          conditions: [{ type: "Syncing", status: "False" }],
        },
      },
      7,
    );
    expect(s).toEqual({
      readAt: 7,
      commit: "b".repeat(40),
      lastSyncedCommit: "a".repeat(40),
      syncing: false,
      errors: [
        { phase: "source", code: "2004", message: "KNV2004: unable to sync repo", resources: [] },
        {
          phase: "sync",
          code: "2009",
          message: "KNV2009: failed to apply Deployment/shop/web: injected sync fault",
          resources: [{ kind: "Deployment", namespace: "shop", name: "web", sourcePath: "shop/web/d.yaml" }],
        },
        {
          phase: "sync",
          code: "2009",
          message: "KNV2009: failed to apply Namespace/shop: forbidden",
          resources: [{ kind: "Namespace", name: "shop" }],
        },
      ],
    });
    expect(s.errors.map((e) => e.resources.map(resourceLabel))).toEqual([
      [],
      ["Deployment/shop/web"],
      ["Namespace/shop"],
    ]);
  });

  it("is syncing while the spec's generation is not observed or Syncing is True; a malformed status is empty", () => {
    expect(rootSyncStatusOf({ metadata: { generation: 3 }, status: { observedGeneration: 2 } }, 0).syncing).toBe(true);
    expect(rootSyncStatusOf({ status: { conditions: [{ type: "Syncing", status: "True" }] } }, 0).syncing).toBe(true);
    expect(rootSyncStatusOf({ status: "garbage", metadata: 4 }, 0)).toEqual({ readAt: 0, syncing: false, errors: [] });
  });
});

const pod = (status: PodObject["status"], owner = { kind: "ReplicaSet", name: "web-5d8f9c7b6d" }): PodObject => ({
  metadata: {
    name: "web-5d8f9c7b6d-x1",
    ownerReferences: [{ apiVersion: "apps/v1", kind: owner.kind, name: owner.name, uid: "u", controller: true }],
  },
  ...(status ? { status } : {}),
});

describe("podReasonOf", () => {
  it("names each container's waiting reason, and a Pending pod's unschedulable reason with the scheduler's message", () => {
    expect(
      podReasonOf(
        pod({
          phase: "Pending",
          conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
          containerStatuses: [
            { name: "app", state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } } },
          ],
        }),
      ),
    ).toEqual({
      pod: "web-5d8f9c7b6d-x1",
      phase: "Pending",
      reasons: ["ImagePullBackOff: app (Back-off pulling image)"],
    });
    expect(
      podReasonOf(
        pod({
          phase: "Pending",
          conditions: [
            {
              type: "PodScheduled",
              status: "False",
              reason: "Unschedulable",
              message: "0/3 nodes are available: 3 Insufficient cpu.",
            },
          ],
        }),
      )?.reasons,
    ).toEqual(["Unschedulable: 0/3 nodes are available: 3 Insufficient cpu."]);
  });

  it("falls back on the Ready condition's reason, and says nothing of a Ready pod", () => {
    expect(
      podReasonOf(
        pod({
          phase: "Running",
          conditions: [
            {
              type: "Ready",
              status: "False",
              reason: "ContainersNotReady",
              message: "containers with unready status: [app]",
            },
          ],
        }),
      )?.reasons,
    ).toEqual(["ContainersNotReady: containers with unready status: [app]"]);
    expect(podReasonOf(pod({ phase: "Running", conditions: [{ type: "Ready", status: "True" }] }))).toBeUndefined();
  });

  it("finds the workload from the controller reference (a ReplicaSet's pods are its Deployment's)", () => {
    expect(workloadOfPod(pod(undefined))).toBe("Deployment/web");
    expect(workloadOfPod(pod(undefined, { kind: "StatefulSet", name: "db" }))).toBe("StatefulSet/db");
    expect(workloadOfPod({ metadata: { name: "bare" } })).toBeUndefined();
  });
});
