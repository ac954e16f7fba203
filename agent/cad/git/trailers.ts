/**
 * Git trailers (the last paragraph's `Key: value` lines) of the commits CAMINO makes. A commit carrying several
 * intents' waves names each intent with its own set, each set starting at its `Camino-Intent` line.
 */

/** The Camino-* trailer sets of a commit message, one per `Camino-Intent` line (a set before any has none). */
export function trailerSets(message: string): Record<string, string>[] {
  const paragraphs = message.trim().split(/\n\s*\n/);
  if (paragraphs.length < 2) return [];
  const sets: Record<string, string>[] = [];
  let current: Record<string, string> | undefined;
  for (const line of (paragraphs.at(-1) ?? "").split("\n")) {
    const m = /^(Camino-[A-Za-z-]+):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === "Camino-Intent" || !current) {
      current = {};
      sets.push(current);
    }
    current[key] = value;
  }
  return sets;
}

/** Whether one of the message's trailer sets holds every key of `want` with its value. */
export function carriesTrailers(message: string, want: Readonly<Record<string, string>>): boolean {
  return trailerSets(message).some((set) => Object.entries(want).every(([k, v]) => set[k] === v));
}
