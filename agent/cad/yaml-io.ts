/**
 * Reading and writing the YAML of kpt packages with the `yaml` library so that a file changes only where a
 * value changes: comments, key order, quoting and flow style are kept. One set of options, used everywhere,
 * so that output is deterministic.
 */
import { isScalar, isSeq, parseAllDocuments, visit, type Document, type ToStringOptions } from "yaml";
import { setterPattern } from "./setters.js";

/** Serialisation options for every YAML file CAMINO writes. */
export const YAML_OUTPUT: ToStringOptions = { lineWidth: 0, flowCollectionPadding: false, indentSeq: true };

/** Thrown for a file that is not valid YAML; carries the file and position. */
export class YamlFileError extends Error {
  override readonly name = "YamlFileError";
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/**
 * Parses every document of a YAML file. A `# kpt-set:` comment on the key line of a block list is attached to
 * the key, where it is written back (the library would otherwise move it below the key).
 */
export function parseYamlFile(file: string, text: string): Document[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    const problem = doc.errors[0];
    if (problem) {
      const pos = problem.linePos ? ` (line ${problem.linePos[0].line}, column ${problem.linePos[0].col})` : "";
      throw new YamlFileError(
        file,
        `${(problem.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}${pos}`,
      );
    }
    visit(doc, {
      Pair(_, pair) {
        const value = pair.value;
        if (
          isSeq(value) &&
          !value.flow &&
          setterPattern(value.commentBefore) !== undefined &&
          isScalar(pair.key) &&
          !pair.key.comment
        ) {
          pair.key.comment = value.commentBefore ?? null;
          value.commentBefore = null;
        }
      },
    });
  }
  return list.filter((d) => d.contents !== null || d.commentBefore);
}

/** Serialises documents back into one file, separated by `---`. */
export function stringifyYamlFile(docs: readonly Document[]): string {
  // A parsed document that began with `---` writes the marker itself; a built one needs it added.
  return docs
    .map((d, i) => {
      const text = d.toString(YAML_OUTPUT);
      return i === 0 || text.startsWith("---") ? text : `---\n${text}`;
    })
    .join("");
}
