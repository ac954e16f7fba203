/** Reading a folder of files into the path → text maps that packages are made of. */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/** Every file under `dir` (recursively), keyed by its '/'-separated path relative to `dir`, sorted. */
export async function readFolder(dir: string): Promise<Map<string, string>> {
  const out: [string, string][] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) out.push([relative(dir, p).split(sep).join("/"), await readFile(p, "utf8")]);
    }
  };
  await walk(dir);
  return new Map(out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The files of one package folder inside a repository file map. */
export function subfolder(files: ReadonlyMap<string, string>, folder: string): Map<string, string> {
  const prefix = folder.endsWith("/") ? folder : `${folder}/`;
  return new Map([...files].filter(([p]) => p.startsWith(prefix)).map(([p, t]) => [p.slice(prefix.length), t]));
}
