/**
 * What an emulated edge's monitoring would scrape, in the Prometheus text exposition format 0.0.4, one file per
 * exporter:
 *
 * - kube-state-metrics v2 (kube-state-metrics.ts), at the metrics listener's `/metrics`;
 * - the kubelet's cAdvisor (cadvisor.ts), at `/metrics/cadvisor` and the API server's node proxy;
 * - the mesh's sidecars, Istio's standard metrics (istio.ts), at `/metrics/istio`.
 *
 * Pure functions of the store (and, for cAdvisor and Istio, a model and a clock): the same input renders the
 * same text, series sorted, so scrapes are reproducible.
 */
export { defaultUsage, renderCadvisor, type UsageModel } from "./cadvisor.js";
export { renderKubeStateMetrics } from "./kube-state-metrics.js";
