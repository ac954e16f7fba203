/**
 * Kubernetes name rules (k8s.io/apimachinery validation), as predicates that return the problem or
 * undefined. Written as character scans: they say which character is wrong.
 */

const lowerAlnum = (c: string): boolean => (c >= "a" && c <= "z") || (c >= "0" && c <= "9");
const alnum = (c: string): boolean => lowerAlnum(c) || (c >= "A" && c <= "Z");

/** DNS-1123 label: 1–63 of [a-z0-9-], starting and ending alphanumeric (namespaces, intent names). */
export function dns1123LabelProblem(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > 63) return `must be at most 63 characters (has ${value.length})`;
  for (const c of value) {
    if (!lowerAlnum(c) && c !== "-")
      return `must consist of lower-case letters, digits and '-' (found ${JSON.stringify(c)})`;
  }
  if (!lowerAlnum(value[0] as string) || !lowerAlnum(value[value.length - 1] as string)) {
    return "must start and end with a lower-case letter or digit";
  }
  return undefined;
}

/** DNS-1035 label: a DNS-1123 label that starts with a letter (Service names, package names). */
export function dns1035LabelProblem(value: string): string | undefined {
  const p = dns1123LabelProblem(value);
  if (p)
    return p.replace(
      "start and end with a lower-case letter or digit",
      "start with a lower-case letter and end with a lower-case letter or digit",
    );
  const first = value[0] as string;
  if (!(first >= "a" && first <= "z")) return "must start with a lower-case letter";
  return undefined;
}

/** DNS-1123 subdomain: dot-separated labels, at most 253 characters (hosts). */
export function dns1123SubdomainProblem(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > 253) return `must be at most 253 characters (has ${value.length})`;
  for (const label of value.split(".")) {
    const p = dns1123LabelProblem(label);
    if (p) return `label ${JSON.stringify(label)} ${p}`;
  }
  return undefined;
}

/** A Kubernetes label value: empty, or up to 63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > 63) return `must be at most 63 characters (has ${value.length})`;
  for (const c of value) {
    if (!alnum(c) && c !== "-" && c !== "_" && c !== ".")
      return `must consist of letters, digits, '-', '_' and '.' (found ${JSON.stringify(c)})`;
  }
  if (!alnum(value[0] as string) || !alnum(value[value.length - 1] as string))
    return "must start and end with a letter or digit";
  return undefined;
}

/** A Kubernetes label key: optional DNS-1123 subdomain prefix and '/', then a name (a non-empty label value). */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (slash !== -1) {
    const p = dns1123SubdomainProblem(key.slice(0, slash));
    if (p) return `prefix ${p}`;
  }
  if (name.length === 0) return "name part must not be empty";
  return labelValueProblem(name);
}

/** A kpt setter name: a letter or '_', then letters, digits, '_', '-' or '.', at most 63 characters. */
export function setterNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > 63) return `must be at most 63 characters (has ${name.length})`;
  const first = name[0] as string;
  if (!(alnum(first) && !(first >= "0" && first <= "9")) && first !== "_") return "must start with a letter or '_'";
  for (const c of name) {
    if (!alnum(c) && c !== "_" && c !== "-" && c !== ".")
      return `must consist of letters, digits, '_', '-' and '.' (found ${JSON.stringify(c)})`;
  }
  return undefined;
}

/** An OCI image tag: 1–128 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
export function imageTagProblem(tag: string): string | undefined {
  if (tag.length === 0) return "must not be empty";
  if (tag.length > 128) return `must be at most 128 characters (has ${tag.length})`;
  if (tag[0] === "." || tag[0] === "-") return "must not start with '.' or '-'";
  for (const c of tag) {
    if (!alnum(c) && c !== "_" && c !== "." && c !== "-")
      return `must consist of letters, digits, '_', '.' and '-' (found ${JSON.stringify(c)})`;
  }
  return undefined;
}

/** A git revision as an intent may pin it: a tag or branch name, or a commit id. */
export function gitRevisionProblem(rev: string): string | undefined {
  if (rev.length === 0) return "must not be empty";
  if (rev.length > 128) return `must be at most 128 characters (has ${rev.length})`;
  if (
    rev.startsWith("-") ||
    rev.startsWith("/") ||
    rev.endsWith("/") ||
    rev.endsWith(".lock") ||
    rev.includes("..") ||
    rev.includes("@{")
  ) {
    return "is not a valid git tag or commit";
  }
  for (const c of rev) {
    if (c <= " " || c === "\u007f" || "~^:?*[\\".includes(c)) return `must not contain ${JSON.stringify(c)}`;
  }
  return undefined;
}
