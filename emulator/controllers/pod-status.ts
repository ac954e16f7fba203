/**
 * The pod statuses a kubelet writes: containers being created, running (and ready), or running but never
 * ready (the `unavailable` fault); times kept from before, so asserting a status again writes nothing.
 */
import { createHash } from "node:crypto";
import type { KubeObject } from "../store.js";
import { type Obj, clone, qosClass, setConditions, specOf, statusOf, uidOf } from "./common.js";
import { arr } from "./scheduler.js";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** An image reference as containerd reports it ("nginx" → "docker.io/library/nginx:latest"). */
function normalizeImage(image: string): string {
  const slash = image.indexOf("/");
  const first = slash >= 0 ? image.slice(0, slash) : "";
  let name = image;
  if (!(slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")))
    name = `docker.io/${slash >= 0 ? "" : "library/"}${image}`;
  if (!name.includes("@") && !name.slice(name.lastIndexOf("/") + 1).includes(":")) name += ":latest";
  return name;
}

function imageId(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image;
  const repo = image.slice(0, image.lastIndexOf(":") > image.lastIndexOf("/") ? image.lastIndexOf(":") : image.length);
  return `${repo}@sha256:${sha256(image)}`;
}

/**
 * A running pod whose readiness never passes (the `unavailable` fault): Ready and ContainersReady False,
 * containers started but not ready; times kept, so asserting it again writes nothing.
 */
export function unreadyStatus(pod: KubeObject, stamp: () => string): Obj {
  const status = clone(statusOf(pod));
  const names = arr(specOf(pod)["containers"]).map((c) => String(c["name"]));
  status["conditions"] = unreadyConditions(arr(status["conditions"]), names, true, stamp);
  status["containerStatuses"] = arr(status["containerStatuses"]).map((c) => ({ ...c, ready: false }));
  return status;
}

/** A pod's conditions with its containers not ready (named, sorted), started or not yet. */
function unreadyConditions(before: Obj[], names: string[], started: boolean, stamp: () => string): Obj[] {
  const unready = `containers with unready status: [${[...names].sort().join(" ")}]`;
  return setConditions(
    before,
    [
      { type: "PodReadyToStartContainers", status: started ? "True" : "False" },
      { type: "Initialized", status: "True" },
      { type: "Ready", status: "False", reason: "ContainersNotReady", message: unready },
      { type: "ContainersReady", status: "False", reason: "ContainersNotReady", message: unready },
      { type: "PodScheduled", status: "True" },
    ],
    stamp(),
    "pod",
  );
}

function hostIp(node: KubeObject): string {
  const internal = arr(statusOf(node)["addresses"]).find((a) => a["type"] === "InternalIP");
  return String(internal?.["address"] ?? "10.0.0.1");
}

/** Status fields the kubelet writes for any pod it runs; times kept from before. */
function baseStatus(pod: KubeObject, node: KubeObject, stamp: () => string): Obj {
  const old = statusOf(pod);
  const hostIP = hostIp(node);
  const status: Obj = {
    ...clone(old),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    qosClass: old["qosClass"] ?? qosClass(specOf(pod)),
    startTime: old["startTime"] ?? stamp(),
  };
  delete status["reason"];
  delete status["message"];
  return status;
}

export function creatingStatus(pod: KubeObject, node: KubeObject, stamp: () => string): Obj {
  const status = baseStatus(pod, node, stamp);
  const containers = arr(specOf(pod)["containers"]);
  status["phase"] = "Pending";
  status["conditions"] = unreadyConditions(
    arr(statusOf(pod)["conditions"]),
    containers.map((c) => String(c["name"])),
    false,
    stamp,
  );
  status["containerStatuses"] = [...containers]
    .sort((a, b) => String(a["name"]).localeCompare(String(b["name"])))
    .map((c) => ({
      image: normalizeImage(String(c["image"] ?? "")),
      imageID: "",
      lastState: {},
      name: c["name"],
      ready: false,
      restartCount: 0,
      started: false,
      state: { waiting: { reason: "ContainerCreating" } },
    }));
  return status;
}

/** A running, ready pod's status; its IP kept, or the node's (hostNetwork), or `allocateIp`'s. */
export function runningStatus(
  pod: KubeObject,
  node: KubeObject,
  stamp: () => string,
  allocateIp: () => string | undefined,
): Obj {
  const now = stamp();
  const status = baseStatus(pod, node, stamp);
  const spec = specOf(pod);
  const uid = uidOf(pod);
  const podIP = spec["hostNetwork"] === true ? status["hostIP"] : (statusOf(pod)["podIP"] ?? allocateIp());
  status["phase"] = "Running";
  status["conditions"] = setConditions(
    arr(statusOf(pod)["conditions"]),
    ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({
      type,
      status: "True" as const,
    })),
    now,
    "pod",
  );
  if (typeof podIP === "string") {
    status["podIP"] = podIP;
    status["podIPs"] = [{ ip: podIP }];
  }
  const running = (c: Obj): Obj => {
    const image = normalizeImage(String(c["image"] ?? ""));
    return {
      containerID: `containerd://${sha256(`${uid}/${String(c["name"])}`)}`,
      image,
      imageID: imageId(image),
      lastState: {},
      name: c["name"],
    };
  };
  const byName = (a: Obj, b: Obj) => String(a["name"]).localeCompare(String(b["name"]));
  status["containerStatuses"] = arr(spec["containers"])
    .sort(byName)
    .map((c) => ({
      ...running(c),
      ready: true,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: now } },
    }));
  const inits = arr(spec["initContainers"]);
  if (inits.length > 0) {
    status["initContainerStatuses"] = inits.map((c) => {
      const sidecar = c["restartPolicy"] === "Always";
      const base = running(c);
      return sidecar
        ? { ...base, ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } }
        : {
            ...base,
            ready: true,
            restartCount: 0,
            started: false,
            state: {
              terminated: {
                containerID: base["containerID"],
                exitCode: 0,
                finishedAt: now,
                reason: "Completed",
                startedAt: now,
              },
            },
          };
    });
  }
  return status;
}
