// Joins names that came from outside (task ids, container and volume names, image digests) into
// host paths, so that a validation slip upstream still cannot reach outside the owning root
// (DESIGN.md rule 9: validated where it enters, confined where it is used). Pure: it looks at the
// strings only. Each outside name must be exactly one path component; the joined path is then
// resolved and required to stay strictly under the resolved root.
import { resolve, sep } from "node:path";

/** A name that would not stay one component under its root: the operation using it is refused. */
export class PathConfinementError extends Error {}

/**
 * Why `part` is not a single, harmless path component, or undefined when it is: empty, `.`, `..`,
 * a slash (an absolute part or a nested path), or a NUL byte (C strings end there, so a tool given
 * the path would see another one).
 */
export function componentProblem(part: string): string | undefined {
  if (part === "") return "is empty";
  if (part.includes("\0")) return "has a NUL byte";
  if (part.includes("/")) return "has a slash";
  if (part === "." || part === "..") return "is a relative path step";
  return undefined;
}

/**
 * `root/part1/part2/…`, each part checked by componentProblem and the result checked to resolve
 * under `root`. `what` names the parts in the error ("volume name", "layer digest").
 */
export function confinedJoin(root: string, parts: readonly string[], what: string): string {
  for (const part of parts) {
    const problem = componentProblem(part);
    if (problem !== undefined) throw new PathConfinementError(`refusing the ${what} ${JSON.stringify(part)}: it ${problem}`);
  }
  const base = resolve(root);
  const joined = resolve(base, ...parts);
  // Belt and braces: with every part one plain component this always holds.
  if (!joined.startsWith(base === sep ? sep : `${base}${sep}`))
    throw new PathConfinementError(`refusing the ${what} ${JSON.stringify(parts.join("/"))}: it leaves ${base}`);
  return joined;
}
