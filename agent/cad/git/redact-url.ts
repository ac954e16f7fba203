/**
 * URLs as messages and logs may show them: without a user:password part, a query or a fragment, where
 * tokens hide (flux's `sanitized.go`).
 */

/**
 * `url` without credentials, query or fragment; "(invalid URL)" when it does not parse.
 * @example redactUrl("https://user:token@git.example/x.git?private_token=t") // "https://git.example/x.git"
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    u.hash = "";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}
