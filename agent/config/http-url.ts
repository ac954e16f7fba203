/** The check every URL setting of the config shares. */

/**
 * A problem with `s` as an http(s) URL, or undefined when it is one; as a `check` of `Checker.string`.
 * @example httpUrlProblem("ftp://x") // "must be an http(s) URL"
 */
export function httpUrlProblem(s: string): string | undefined {
  return /^https?:\/\//.test(s) && URL.canParse(s) ? undefined : "must be an http(s) URL";
}
