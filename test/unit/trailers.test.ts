import { describe, expect, it } from "vitest";
import { carriesTrailers, trailerSets } from "../../agent/cad/git/trailers.js";

describe("commit trailers", () => {
  const grouped = [
    "camino: 2 intents",
    "",
    "body text: Camino-Intent: not-a-trailer",
    "",
    "Camino-Intent: a",
    "Camino-Revision: 2",
    "Camino-Wave: 1",
    "Camino-Action: deploy",
    "Camino-Intent: b",
    "Camino-Revision: 7",
    "Camino-Wave: 1",
    "Camino-Action: deploy",
  ].join("\n");

  it("reads one set per intent a commit carries, from the last paragraph only", () => {
    expect(trailerSets(grouped)).toEqual([
      { "Camino-Intent": "a", "Camino-Revision": "2", "Camino-Wave": "1", "Camino-Action": "deploy" },
      { "Camino-Intent": "b", "Camino-Revision": "7", "Camino-Wave": "1", "Camino-Action": "deploy" },
    ]);
    expect(trailerSets("a subject only, Camino-Intent: x")).toEqual([]);
  });

  it("matches a wanted set within one intent's trailers, never across two", () => {
    expect(carriesTrailers(grouped, { "Camino-Intent": "b", "Camino-Revision": "7" })).toBe(true);
    expect(carriesTrailers(grouped, { "Camino-Intent": "a", "Camino-Revision": "7" })).toBe(false);
    expect(carriesTrailers(grouped, { "Camino-Intent": "c" })).toBe(false);
  });
});
