/** Paths in a git tree as CAMINO writes them. */

/** Refuses a path segment git would refuse (fsck: hasDot, hasDotdot, hasDotgit) or that cannot be stored. */
export function checkSegments(path: string): string[] {
  const parts = path.split("/");
  for (const p of parts) {
    if (p === "" || p === "." || p === ".." || p.toLowerCase() === ".git" || p.includes("\0") || p.includes("\\")) {
      throw new TypeError(
        `invalid path ${JSON.stringify(path)}: segment ${JSON.stringify(p)} is not allowed in a git tree`,
      );
    }
  }
  return parts;
}
