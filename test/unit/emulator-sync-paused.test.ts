/** The emulator's `syncPaused` fault document: a boolean, refused otherwise with the field named. */
import { describe, expect, it } from "vitest";
import { NO_FAULTS, faultProblems } from "../../emulator/faults.js";

describe("the syncPaused fault", () => {
  it("is off by default, takes true or false, and names the field when given anything else", () => {
    expect(NO_FAULTS.syncPaused).toBe(false);
    expect(faultProblems({ syncPaused: true })).toEqual([]);
    expect(faultProblems({ syncPaused: false })).toEqual([]);
    expect(faultProblems({ syncPaused: "yes" })).toEqual(["syncPaused: must be true or false"]);
  });
});
