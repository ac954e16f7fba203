/**
 * Joins one edge's pods to their deployments through the label cache, between a source's reading and its
 * figures: a pod read with its `camino.io/*` labels is remembered (one pipelined write per edge), and a pod read
 * without them gets them from the cache (one MGET per edge). kube-state-metrics publishes a new pod's labels in
 * a separate series (`kube_pod_labels`) that can lag its usage or be missing from one read; the cache keeps such
 * a pod counted in its package instead of dropping it for a snapshot. A cache that is down answers misses, and
 * the reading is then used as read.
 */
import type { EdgeReading } from "./edge-figures.js";
import { podKey, type LabelCache } from "./label-cache.js";

export interface LabelJoin {
  /** Pods whose labels came from the cache. */
  filled: number;
  /** Pods written to the cache. */
  stored: number;
}

/** Fills unlabelled pods of `reading` from `cache` and stores the labelled ones. Mutates `reading`. */
export async function joinLabels(edge: string, reading: EdgeReading, cache: LabelCache): Promise<LabelJoin> {
  const known: Array<readonly [string, { intent: string; package: string; edge: string }]> = [];
  const unknown: string[] = [];
  for (const [key, p] of reading.pods) {
    const [namespace = "", pod = ""] = key.split("/");
    const id = podKey(edge, namespace, pod);
    if (p.intent !== "" && p.package !== "") known.push([id, { intent: p.intent, package: p.package, edge }]);
    else unknown.push(key);
  }
  let filled = 0;
  if (unknown.length > 0) {
    const found = await cache.getMany(
      unknown.map((key) => {
        const [namespace = "", pod = ""] = key.split("/");
        return podKey(edge, namespace, pod);
      }),
    );
    unknown.forEach((key, i) => {
      const labels = found[i];
      const p = reading.pods.get(key);
      if (!labels || !p || labels.edge !== edge) return;
      p.intent = labels.intent;
      p.package = labels.package;
      filled++;
    });
  }
  await cache.setMany(known);
  return { filled, stored: known.length };
}
