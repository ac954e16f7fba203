/** Kubernetes quantities and Go-style durations, parsed exactly. */
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../agent/intent/duration.js";
import { formatMilli, parseQuantity, toMilli, toUnits } from "../../agent/intent/quantity.js";

describe("parseQuantity", () => {
  it.each([
    ["500m", 500n, 1n],
    ["0.5", 500n, 1n],
    [".5", 500n, 1n],
    ["1", 1000n, 1n],
    ["2.", 2000n, 2n],
    ["1k", 1_000_000n, 1000n],
    ["100u", 1n, 1n], // 0.1 millicore rounds up to 1m, as the API server rounds MilliValue
    ["1e3", 1_000_000n, 1000n],
    ["+1.5", 1500n, 2n],
  ])("%s is %s millis, %s units", (text, millis, units) => {
    const q = parseQuantity(text);
    expect(toMilli(q)).toBe(millis);
    expect(toUnits(q)).toBe(units);
  });

  it("handles binary suffixes exactly", () => {
    expect(toUnits(parseQuantity("256Mi"))).toBe(268_435_456n);
    expect(toUnits(parseQuantity("1.5Gi"))).toBe(1_610_612_736n);
    expect(toUnits(parseQuantity("1Ei"))).toBe(1n << 60n);
    expect(toUnits(parseQuantity("128974848"))).toBe(128_974_848n);
    expect(toUnits(parseQuantity("129e6"))).toBe(129_000_000n);
    expect(toUnits(parseQuantity("123Mi"))).toBe(128_974_848n);
  });

  it.each(["", "m", "1x", "0x10", "1.2.3", "1e", "1e+", "Mi", " 1", "1 ", "1Mi2", "--1", "1e99", "1KiB"])(
    "refuses %j",
    (text) => {
      expect(() => parseQuantity(text)).toThrow();
    },
  );

  it("formats millicores as Kubernetes prints them", () => {
    expect(formatMilli(250n)).toBe("250m");
    expect(formatMilli(2000n)).toBe("2");
  });
});

describe("parseDuration", () => {
  it.each([
    ["300s", 300_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
    ["250ms", 250],
    ["0", 0],
    ["2h0m1s", 7_201_000],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(["", "5", "5 m", "m", "5d", "1..5s", "-5s", "5sm"])("refuses %j", (text) => {
    expect(() => parseDuration(text)).toThrow();
  });
  it("formats back", () => {
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(1500)).toBe("1.5s");
    expect(formatDuration(250)).toBe("250ms");
  });
});
