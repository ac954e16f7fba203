import type { EmulatorOptions } from "../../../emulator/emulator.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { parseFlags, type Command } from "../command.js";

export const emulatorCommand: Command = {
  name: "emulator",
  summary: "run an emulated edge cluster (a Kubernetes API for kubectl and the agent)",
  help: `Usage: camino emulator --config edge.yaml

Serves an emulated Kubernetes cluster for machines without one: the API kubectl and the agent use, over
HTTP and/or HTTPS (bearer token from https.tokenFile). Prints one JSON line with its URLs on stdout; log lines
(a RootSync's source error, and its end) go to stderr as JSON.

edge.yaml:
  name: edge-1
  http: {host: 127.0.0.1, port: 0}          # 0 picks a free port
  https: {host: 127.0.0.1, port: 0, certFile: tls.pem, keyFile: tls-key.pem, tokenFile: token}
  admin: {host: 127.0.0.1, port: 0}           # GET/PATCH /faults and /usage
  metrics: {host: 127.0.0.1, port: 0}         # /metrics (kube-state-metrics), /metrics/cadvisor
  usageFraction: 0.5                          # share of requests a workload uses
  podStartDelayMs: 0                          # a scheduled pod becomes Ready after this long
  eastWest: {address: 192.0.2.10, network: network-1}   # default: <name>-network, an address from the name
  istio: {multiRoot: true, xdsAgent: true, sharedMeshConfig: camino-mesh-trust}   # istiod's install settings
  faults: {apiLatencyMs: 0, apiUnavailable: false, syncErrors: [], syncPaused: false, nodesNotReady: [], unavailable: []}
  nodes:
    - {name: node-1, cpu: "4", memory: 8Gi, pods: 110, labels: {zone: north}}`,
  async run(argv, io) {
    const { values } = parseFlags(argv, { config: { type: "string", short: "c" } });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (!values.config) throw new UsageError("--config is required");
    // Loaded here, not at the top: only this command needs the emulator, and loading it slows every command.
    const { loadEmulatorConfig } = await import("../../../emulator/config.js");
    const { readTls, startEmulator } = await import("../../../emulator/emulator.js");
    const config = await loadEmulatorConfig(values.config);
    const options: EmulatorOptions = {
      name: config.name,
      nodes: config.nodes,
      // Log lines go to stderr as JSON, as the agent's do; stdout carries only the line with the URLs.
      log: (line) => io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`),
    };
    if (config.http) options.http = config.http;
    if (config.admin) options.admin = config.admin;
    if (config.metrics) options.metrics = config.metrics;
    if (config.usageFraction !== undefined) options.usageFraction = config.usageFraction;
    if (config.podStartDelayMs !== undefined) options.podStartDelayMs = config.podStartDelayMs;
    if (config.eastWest) options.eastWest = config.eastWest;
    if (config.istio) options.istio = config.istio;
    if (config.faults) options.faults = config.faults;
    if (config.https) {
      const tls = await readTls(config.https.certFile, config.https.keyFile, config.https.tokenFile);
      options.https = { host: config.https.host, port: config.https.port, ...tls };
    }
    const emulator = await startEmulator(options);
    io.stdout.write(
      `${JSON.stringify({
        msg: "emulator listening",
        name: emulator.name,
        http: emulator.httpUrl,
        https: emulator.httpsUrl,
        admin: emulator.adminUrl,
        metrics: emulator.metricsUrl,
      })}\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => void emulator.close().then(resolve);
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
    return EXIT.OK;
  },
};
