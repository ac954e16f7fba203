/** Kubernetes quantities and Go-style durations, parsed exactly. */
import { describe, expect, it } from "vitest";
import { DurationError, formatDuration, parseDuration } from "../../common/duration.js";
import { formatMilli, parseQuantity, QuantityError, toMilli, toUnits } from "../../common/quantity.js";

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

  it.each([
    ["", "empty quantity"],
    ["m", 'quantity "m" must start with a number'],
    ["1x", 'quantity "1x" has an unknown suffix "x"'],
    ["0x10", 'quantity "0x10" has an unknown suffix "x10"'],
    ["1.2.3", 'quantity "1.2.3" has an unknown suffix ".3"'],
    ["1e", 'quantity "1e" has a malformed exponent "e"'],
    ["1e+", 'quantity "1e+" has a malformed exponent "e+"'],
    ["Mi", 'quantity "Mi" must start with a number'],
    [" 1", 'quantity " 1" must start with a number'],
    ["1 ", 'quantity "1 " has an unknown suffix " "'],
    ["1Mi2", 'quantity "1Mi2" has an unknown suffix "Mi2"'],
    ["--1", 'quantity "--1" must start with a number'],
    ["1e99", 'quantity "1e99" has an exponent out of range'],
    ["1KiB", 'quantity "1KiB" has an unknown suffix "KiB"'],
  ])("refuses %j: %s", (text, message) => {
    expect(() => parseQuantity(text)).toThrow(QuantityError);
    expect(() => parseQuantity(text)).toThrow(message);
  });

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
    expect(() => parseDuration(text)).toThrow(DurationError);
  });
  it("formats back", () => {
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(1500)).toBe("1.5s");
    expect(formatDuration(250)).toBe("250ms");
  });
});
