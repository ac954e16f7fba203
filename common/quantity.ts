/**
 * Kubernetes resource quantities, parsed exactly as the API server's grammar defines them
 * (k8s.io/apimachinery resource.Quantity):
 *
 *   quantity ::= signedNumber suffix
 *   suffix   ::= binarySI (Ki Mi Gi Ti Pi Ei) | decimalSI (n u m "" k M G T P E) | ("e"|"E") signedInteger
 *
 * Values are kept as exact rationals (BigInt), so "0.1" CPU is exactly 100 millicores and "1.5Gi" is exactly
 * 1610612736 bytes; rounding is upward, as the API server rounds `MilliValue()` and `Value()`.
 * A hand-written scanner rather than a regular expression: it reports *where* a quantity goes wrong.
 * (The parser in @kubernetes/client-node accepts what the API server refuses, such as "0x10" or "1e".)
 */

/** An exact quantity: numerator / denominator. */
export interface Quantity {
  /** The text as written. */
  readonly text: string;
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** Thrown for text that is not a quantity; the message says what is wrong with it. */
export class QuantityError extends Error {
  override readonly name = "QuantityError";
}

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const MAX_TEXT = 64;
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";

/**
 * Parses a Kubernetes quantity.
 * @example parseQuantity("250m") // 250/1000
 * @throws QuantityError when the text is not a quantity.
 */
export function parseQuantity(text: string): Quantity {
  if (text.length === 0) throw new QuantityError("empty quantity");
  if (text.length > MAX_TEXT) throw new QuantityError(`quantity longer than ${MAX_TEXT} characters`);
  let i = 0;
  let negative = false;
  if (text[i] === "+" || text[i] === "-") {
    negative = text[i] === "-";
    i++;
  }
  let intDigits = "";
  while (isDigit(text[i])) intDigits += text[i++];
  let fracDigits = "";
  if (text[i] === ".") {
    i++;
    while (isDigit(text[i])) fracDigits += text[i++];
  }
  if (intDigits === "" && fracDigits === "") {
    throw new QuantityError(`quantity "${text}" must start with a number`);
  }
  const suffix = text.slice(i);
  let numerator = BigInt((intDigits || "0") + fracDigits);
  let denominator = 10n ** BigInt(fracDigits.length);
  let exp10 = 0;
  if (suffix in BINARY) {
    numerator *= BINARY[suffix] as bigint;
  } else if (suffix in DECIMAL) {
    exp10 = DECIMAL[suffix] as number;
  } else if (suffix[0] === "e" || suffix[0] === "E") {
    let j = 1;
    let expNegative = false;
    if (suffix[j] === "+" || suffix[j] === "-") {
      expNegative = suffix[j] === "-";
      j++;
    }
    let expDigits = "";
    while (isDigit(suffix[j])) expDigits += suffix[j++];
    if (expDigits === "" || j !== suffix.length) {
      throw new QuantityError(`quantity "${text}" has a malformed exponent "${suffix}"`);
    }
    exp10 = Number(expDigits) * (expNegative ? -1 : 1);
    if (Math.abs(exp10) > 30) throw new QuantityError(`quantity "${text}" has an exponent out of range`);
  } else {
    throw new QuantityError(
      `quantity "${text}" has an unknown suffix "${suffix}" (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent)`,
    );
  }
  if (exp10 > 0) numerator *= 10n ** BigInt(exp10);
  else if (exp10 < 0) denominator *= 10n ** BigInt(-exp10);
  if (negative) numerator = -numerator;
  return { text, numerator, denominator };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b === 0n || a < 0n ? q : q + 1n;
}

/** The quantity in thousandths, rounded up (CPU millicores). */
export function toMilli(q: Quantity): bigint {
  return ceilDiv(q.numerator * 1000n, q.denominator);
}

/** The quantity in whole units, rounded up (memory bytes). */
export function toUnits(q: Quantity): bigint {
  return ceilDiv(q.numerator, q.denominator);
}

/** Formats millicores as Kubernetes would print them ("250m", "2"). */
export function formatMilli(millis: bigint): string {
  return millis % 1000n === 0n ? String(millis / 1000n) : `${millis}m`;
}

/**
 * A quantity as Kubernetes objects carry it — a string, or a plain number (the API's int-or-string: YAML gives
 * `cpu: 1` as a number) — in millicores; absent is 0. @throws QuantityError for a malformed one.
 */
export function millisOf(q: unknown): number {
  return q === undefined || q === null || q === "" ? 0 : Number(toMilli(parseQuantity(String(q))));
}

/** Like {@link millisOf}, in whole units (bytes of memory). */
export function unitsOf(q: unknown): number {
  return q === undefined || q === null || q === "" ? 0 : Number(toUnits(parseQuantity(String(q))));
}
