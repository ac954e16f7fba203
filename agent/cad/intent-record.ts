/**
 * The intent as deployed, kept in each deployment repository it uses: `<intent>/_chain/intent.yaml`, a
 * local-config object (ConfigSync never applies it), written with wave 0 of every revision. With the packages'
 * IESDs and the commits' trailers it lets `camino recover --from-repositories` rebuild the agent's records from
 * the repositories alone (agent/orchestration/rebuild.ts).
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { parse } from "yaml";
import { intentToDocument } from "../intent/load.js";
import type { Intent } from "../intent/model.js";
import { plainYaml } from "./plain-yaml.js";

/** The file's name in the intent's `_chain/` folder. */
export const INTENT_RECORD_FILE = "intent.yaml";

const LOCAL_CONFIG = "config.kubernetes.io/local-config";
const REVISION = "camino.io/revision";

/** The file's text: the intent's canonical document, marked local-config, with its revision. */
export function intentRecordText(intent: Intent, revision: number): string {
  const doc = intentToDocument(intent);
  const metadata = doc["metadata"] as Record<string, JsonValue>;
  return plainYaml({
    ...doc,
    metadata: { ...metadata, annotations: { [LOCAL_CONFIG]: "true", [REVISION]: String(revision) } },
  });
}

/**
 * Reads the file back: the intent's document (as SubmitIntent takes it) and the revision it was written by.
 * @throws Error naming what is missing
 */
export function readIntentRecord(text: string): { document: Record<string, unknown>; revision: number } {
  const o = parse(text) as { metadata?: { name?: unknown; annotations?: Record<string, unknown> } } | null;
  const revision = Number(o?.metadata?.annotations?.[REVISION]);
  if (!o || typeof o.metadata?.name !== "string" || !Number.isInteger(revision) || revision < 1) {
    throw new Error(`not an intent record (metadata.name and the ${REVISION} annotation are required)`);
  }
  return { document: { ...o, metadata: { name: o.metadata.name } }, revision };
}
