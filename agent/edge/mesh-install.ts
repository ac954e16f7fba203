/**
 * What an edge's Istio install says about its mesh, read (never written) from the edge: its network (the
 * `topology.istio.io/network` label of `istio-system`), its east-west gateway (the `istio-eastwestgateway`
 * Service: LoadBalancer address and the 15443 port), and the install-time settings cross-domain trust needs
 * (`ISTIO_MULTIROOT_MESH` and `SHARED_MESH_CONFIG` on istiod, `PROXY_CONFIG_XDS_AGENT` in the mesh's default
 * proxy metadata). docs/network.md says why each matters.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";
import { EdgeError, httpCodeOf } from "./edge-errors.js";
import type { EdgeTransport } from "./edge-transport.js";

/** The namespace Istio is installed in, and the names a standard multi-network install uses. */
export const ISTIO_NAMESPACE = "istio-system";
export const NETWORK_LABEL = "topology.istio.io/network";
export const EASTWEST_SERVICE = "istio-eastwestgateway";
/** The port of the east-west gateway that carries mutual TLS between networks (AUTO_PASSTHROUGH). */
export const EASTWEST_PORT = 15443;

/** One edge's mesh as its install reports it. */
export interface EdgeMesh {
  edge: string;
  /** The edge's mesh network; absent when istio-system carries no network label. */
  network?: string;
  /** The east-west gateway as other edges and domains reach it; absent when there is none or it has no address yet. */
  gateway?: { address: string; port: number; hostname: boolean };
  /** `ISTIO_MULTIROOT_MESH=true` on istiod: more than one trusted root. */
  multiRoot: boolean;
  /** `PROXY_CONFIG_XDS_AGENT=true` in the mesh's default proxy metadata: proxies take trust bundles over xDS. */
  xdsAgent: boolean;
  /**
   * Istio's DNS proxying with address allocation (`ISTIO_META_DNS_CAPTURE` and `ISTIO_META_DNS_AUTO_ALLOCATE` in
   * the mesh's default proxy metadata): how a ServiceEntry's host without a Kubernetes Service resolves in a pod.
   */
  dnsProxy: boolean;
  /** The ConfigMap (in istio-system) istiod merges into its mesh config (`SHARED_MESH_CONFIG`), if set. */
  sharedMeshConfig?: string;
  /** What is missing for links to other edges or domains, in words. */
  problems: string[];
}

type Obj = KubernetesObject & { spec?: unknown; status?: unknown; data?: Record<string, string> };

async function readOrAbsent(
  transport: EdgeTransport,
  object: KubernetesObject,
  signal?: AbortSignal,
): Promise<Obj | undefined> {
  const what = `read ${object.kind}/${object.metadata?.name}`;
  try {
    return (await transport.call(what, (api) => api.objects.read(object as never), signal)) as Obj;
  } catch (err) {
    if (err instanceof EdgeError && httpCodeOf(err) === 404) return undefined;
    throw err;
  }
}

const ref = (apiVersion: string, kind: string, name: string, namespace?: string): KubernetesObject => ({
  apiVersion,
  kind,
  metadata: namespace ? { name, namespace } : { name },
});

/** istiod's environment, from its Deployment's `discovery` container (or its first). */
function istiodEnv(d: Obj | undefined): Map<string, string> {
  const containers =
    (
      d?.spec as {
        template?: { spec?: { containers?: { name?: string; env?: { name: string; value?: string }[] }[] } };
      }
    )?.template?.spec?.containers ?? [];
  const c = containers.find((x) => x.name === "discovery") ?? containers[0];
  return new Map((c?.env ?? []).map((e) => [e.name, e.value ?? ""]));
}

/** `defaultConfig.proxyMetadata` of a mesh config text (empty when absent or unreadable). */
function proxyMetadataOf(mesh: string | undefined): Record<string, unknown> {
  if (!mesh) return {};
  try {
    const m = parseYaml(mesh) as { defaultConfig?: { proxyMetadata?: Record<string, unknown> } } | null;
    return m?.defaultConfig?.proxyMetadata ?? {};
  } catch {
    return {};
  }
}

/**
 * Reads an edge's mesh. Missing pieces are reported in `problems`, not thrown: an edge without an east-west
 * gateway can still host chains whose links stay on it.
 * @throws EdgeError when the edge cannot be reached
 */
export async function readEdgeMesh(edge: string, transport: EdgeTransport, signal?: AbortSignal): Promise<EdgeMesh> {
  const [ns, svc, istiod, meshConfig] = await Promise.all([
    readOrAbsent(transport, ref("v1", "Namespace", ISTIO_NAMESPACE), signal),
    readOrAbsent(transport, ref("v1", "Service", EASTWEST_SERVICE, ISTIO_NAMESPACE), signal),
    readOrAbsent(transport, ref("apps/v1", "Deployment", "istiod", ISTIO_NAMESPACE), signal),
    readOrAbsent(transport, ref("v1", "ConfigMap", "istio", ISTIO_NAMESPACE), signal),
  ]);
  const mesh: EdgeMesh = { edge, multiRoot: false, xdsAgent: false, dnsProxy: false, problems: [] };
  const network = ns?.metadata?.labels?.[NETWORK_LABEL];
  if (network) mesh.network = network;
  else mesh.problems.push(`${ISTIO_NAMESPACE} has no ${NETWORK_LABEL} label`);
  if (svc) {
    const ingress = (svc.status as { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } | undefined)
      ?.loadBalancer?.ingress?.[0];
    const ports = (svc.spec as { ports?: { name?: string; port?: number }[] } | undefined)?.ports ?? [];
    const port = ports.find((p) => p.port === EASTWEST_PORT || p.name === "tls")?.port;
    const address = ingress?.ip || ingress?.hostname;
    if (!address) mesh.problems.push(`${ISTIO_NAMESPACE}/${EASTWEST_SERVICE} has no LoadBalancer address yet`);
    else if (port === undefined)
      mesh.problems.push(`${ISTIO_NAMESPACE}/${EASTWEST_SERVICE} has no ${EASTWEST_PORT} port`);
    else mesh.gateway = { address, port, hostname: !ingress?.ip };
  } else {
    mesh.problems.push(`there is no ${ISTIO_NAMESPACE}/${EASTWEST_SERVICE} Service`);
  }
  const env = istiodEnv(istiod);
  mesh.multiRoot = env.get("ISTIO_MULTIROOT_MESH") === "true";
  const shared = env.get("SHARED_MESH_CONFIG");
  if (shared) mesh.sharedMeshConfig = shared;
  const metadata = proxyMetadataOf(meshConfig?.data?.["mesh"]);
  const on = (k: string) => String(metadata[k] ?? "") === "true";
  mesh.xdsAgent = on("PROXY_CONFIG_XDS_AGENT");
  mesh.dnsProxy = on("ISTIO_META_DNS_CAPTURE") && on("ISTIO_META_DNS_AUTO_ALLOCATE");
  return mesh;
}
