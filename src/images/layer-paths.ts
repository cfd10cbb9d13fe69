// Path handling for the layer entries Berth applies itself (whiteouts, opaque directories,
// absolute symlinks, mode fix-ups) after node-tar has extracted the rest. node-tar's own
// protections (no `..`, no absolute paths, no writing through symlinks) do not cover these, so
// every path here is confined by hand: split into components, `..` and absolute paths refused,
// and every parent directory walked with lstat from the unpack root, refusing any symlink or
// non-directory on the way. The tree being walked is the layer just extracted, which nothing else
// writes to, so lstat-then-act cannot be raced.
import { lstatSync, mkdirSync } from "node:fs";
import type { Stats } from "node:fs";
import { join } from "node:path";

/** A layer entry that would reach outside the layer: the whole layer is refused. */
export class UnsafeLayerEntryError extends Error {}

/** The components of a layer entry's path; `..`, absolute paths and NUL bytes are refused. */
export function layerPathComponents(path: string): string[] {
  if (path.includes("\0")) throw new UnsafeLayerEntryError(`layer entry ${JSON.stringify(path)} has a NUL byte in its path`);
  if (path.startsWith("/")) throw new UnsafeLayerEntryError(`layer entry ${JSON.stringify(path)} has an absolute path`);
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw new UnsafeLayerEntryError(`layer entry ${JSON.stringify(path)} escapes the layer with ".."`);
  return parts;
}

const lstatOrUndefined = (path: string): Stats | undefined => {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
};

/**
 * The real directory `parts` names inside `root`, created (0755) where missing when `create`;
 * undefined when missing and not created. Throws when any component is a symlink or not a
 * directory: following it could lead anywhere on the host.
 */
export function confinedDirectory(root: string, parts: readonly string[], options: { create: boolean; entry: string }): string | undefined {
  let current = root;
  for (const part of parts) {
    const next = join(current, part);
    const stats = lstatOrUndefined(next);
    if (!stats) {
      if (!options.create) return undefined;
      mkdirSync(next, { mode: 0o755 });
    } else if (stats.isSymbolicLink()) {
      throw new UnsafeLayerEntryError(
        `layer entry ${JSON.stringify(options.entry)} goes through the symlink ${parts.slice(0, parts.indexOf(part) + 1).join("/")}`,
      );
    } else if (!stats.isDirectory()) {
      throw new UnsafeLayerEntryError(
        `layer entry ${JSON.stringify(options.entry)} goes through ${parts.slice(0, parts.indexOf(part) + 1).join("/")}, which is not a directory`,
      );
    }
    current = next;
  }
  return current;
}

/** The host path of a layer entry inside `root`, its parents real directories (created when `create`). */
export function confinedEntryPath(root: string, path: string, options: { create: boolean }): string | undefined {
  const parts = layerPathComponents(path);
  if (parts.length === 0) return undefined;
  const parent = confinedDirectory(root, parts.slice(0, -1), { create: options.create, entry: path });
  return parent === undefined ? undefined : join(parent, parts[parts.length - 1]!);
}

export { lstatOrUndefined };
