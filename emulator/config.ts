/** The emulator's config file (`camino emulator --config edge.yaml`), validated with field paths. */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { ConfigError } from "../common/errors.js";
import { dns1123LabelProblem, dns1123SubdomainProblem } from "../common/names.js";
import { parseQuantity, QuantityError } from "../common/quantity.js";
import { Checker, joinPath } from "../common/checker.js";
import type { EmulatedNode } from "./emulator.js";
import { faultProblems, type Faults } from "./faults.js";

export interface EmulatorConfig {
  name: string;
  http?: { host: string; port: number };
  https?: { host: string; port: number; certFile: string; keyFile: string; tokenFile: string };
  admin?: { host: string; port: number };
  metrics?: { host: string; port: number };
  usageFraction?: number;
  podStartDelayMs?: number;
  eastWest?: { address: string; network: string };
  istio?: { multiRoot?: boolean; xdsAgent?: boolean; sharedMeshConfig?: string };
  faults?: Partial<Faults>;
  nodes: EmulatedNode[];
}

export function parseEmulatorConfig(doc: unknown, base: string): EmulatorConfig {
  const c = new Checker();
  const root =
    c.object(doc ?? {}, "", [
      "name",
      "http",
      "https",
      "admin",
      "metrics",
      "usageFraction",
      "podStartDelayMs",
      "eastWest",
      "istio",
      "faults",
      "nodes",
    ]) ?? {};
  const name = c.string(root["name"], "name", { required: true, max: 63, check: dns1123LabelProblem }) ?? "";
  const out: EmulatorConfig = { name, nodes: [] };
  const h = c.object(root["http"], "http", ["host", "port"]);
  if (h)
    out.http = {
      host: c.string(h["host"], "http.host") ?? "127.0.0.1",
      port: c.integer(h["port"], "http.port", 0, 65535) ?? 0,
    };
  const s = c.object(root["https"], "https", ["host", "port", "certFile", "keyFile", "tokenFile"]);
  if (s) {
    const file = (k: string) => {
      const v = c.string(s[k], joinPath("https", k), { required: true, max: 4096 });
      return v ? resolve(base, v) : "";
    };
    out.https = {
      host: c.string(s["host"], "https.host") ?? "127.0.0.1",
      port: c.integer(s["port"], "https.port", 0, 65535) ?? 0,
      certFile: file("certFile"),
      keyFile: file("keyFile"),
      tokenFile: file("tokenFile"),
    };
  }
  if (!h && !s) c.add("http", "give http, https or both");
  const a = c.object(root["admin"], "admin", ["host", "port"]);
  if (a)
    out.admin = {
      host: c.string(a["host"], "admin.host") ?? "127.0.0.1",
      port: c.integer(a["port"], "admin.port", 0, 65535) ?? 0,
    };
  const mt = c.object(root["metrics"], "metrics", ["host", "port"]);
  if (mt)
    out.metrics = {
      host: c.string(mt["host"], "metrics.host") ?? "127.0.0.1",
      port: c.integer(mt["port"], "metrics.port", 0, 65535) ?? 0,
    };
  if (root["usageFraction"] !== undefined) {
    const f = root["usageFraction"];
    if (typeof f !== "number" || f < 0 || f > 10) c.add("usageFraction", "must be a number between 0 and 10");
    else out.usageFraction = f;
  }
  const delay = c.integer(root["podStartDelayMs"], "podStartDelayMs", 0, 3_600_000);
  if (delay !== undefined) out.podStartDelayMs = delay;
  const ew = c.object(root["eastWest"], "eastWest", ["address", "network"]);
  if (ew) {
    const address = c.string(ew["address"], "eastWest.address", { required: true, max: 253 });
    const network = c.string(ew["network"], "eastWest.network", {
      required: true,
      max: 63,
      check: dns1123LabelProblem,
    });
    if (address && network) out.eastWest = { address, network };
  }
  const istio = c.object(root["istio"], "istio", ["multiRoot", "xdsAgent", "sharedMeshConfig"]);
  if (istio) {
    out.istio = {};
    for (const k of ["multiRoot", "xdsAgent"] as const) {
      const v = istio[k];
      if (v === undefined) continue;
      if (typeof v !== "boolean") c.add(`istio.${k}`, "must be true or false");
      else out.istio[k] = v;
    }
    // "" is an install without SHARED_MESH_CONFIG; absent, the default (camino-mesh-trust).
    const shared =
      istio["sharedMeshConfig"] === ""
        ? ""
        : c.string(istio["sharedMeshConfig"], "istio.sharedMeshConfig", { max: 253 });
    if (shared !== undefined) out.istio.sharedMeshConfig = shared;
  }
  if (root["faults"] !== undefined) {
    const problems = faultProblems(root["faults"]);
    for (const p of problems) c.add(`faults.${p.split(":")[0]}`, p.slice(p.indexOf(":") + 2));
    if (problems.length === 0) out.faults = root["faults"] as Partial<Faults>;
  }
  const quantity = (v: unknown, path: string) => {
    const q = c.string(v, path, { required: true, max: 64 });
    if (q === undefined) return "";
    try {
      parseQuantity(q);
    } catch (err) {
      if (err instanceof QuantityError) c.add(path, err.message);
      else throw err;
    }
    return q;
  };
  out.nodes = c.list(root["nodes"], "nodes", 1000).flatMap((raw, i) => {
    const p = `nodes[${i}]`;
    const n = c.object(raw, p, ["name", "labels", "cpu", "memory", "pods"]);
    if (!n) return [];
    const nodeName =
      c.string(n["name"], joinPath(p, "name"), { required: true, max: 253, check: dns1123SubdomainProblem }) ?? "";
    const node: EmulatedNode = {
      name: nodeName,
      cpu: quantity(n["cpu"], joinPath(p, "cpu")),
      memory: quantity(n["memory"], joinPath(p, "memory")),
    };
    const pods = c.integer(n["pods"], joinPath(p, "pods"), 1, 10000);
    if (pods !== undefined) node.pods = pods;
    const labels = n["labels"];
    if (labels !== undefined) {
      if (!labels || typeof labels !== "object" || Array.isArray(labels))
        c.add(joinPath(p, "labels"), "must be a map of label keys to values");
      // Label syntax is the API server's to check, as for any object.
      else node.labels = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
    }
    return [node];
  });
  if (c.issues.length > 0) throw new ConfigError(c.issues);
  return out;
}

export async function loadEmulatorConfig(file: string): Promise<EmulatorConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError([{ path: "", message: `cannot read ${file} (${(err as NodeJS.ErrnoException).code})` }], {
      cause: err,
      data: { source: file },
    });
  }
  return parseEmulatorConfig(parse(text), dirname(resolve(file)));
}
