// The runtime's side of the native helper (src/runtime/native/berth-task-helper.c, built by
// scripts/build-native.sh): idmapped overlay roots for containers in a user namespace.
import { existsSync } from "node:fs";
import { nativeHelperPath } from "../core/native-helper.js";
import type { IdRange } from "../core/id-range.js";
import type { CommandRunner } from "../core/command-runner.js";

/** The helper's path; an error saying how to build it when it is missing. */
export function checkedNativeHelperPath(): string {
  const path = nativeHelperPath();
  if (!existsSync(path)) throw new Error(`berth: ${path} is missing; run scripts/setup.sh (or scripts/build-native.sh) first`);
  return path;
}

export interface IdmappedOverlay {
  readonly ids: IdRange;
  /** Image layer directories, bottom first. */
  readonly layers: readonly string[];
  readonly upper: string;
  readonly work: string;
  readonly target: string;
  /** An empty directory the helper may use for the idmapped layer mounts while it builds the overlay. */
  readonly staging: string;
}

export class TaskMountsHelper {
  constructor(
    private readonly run: CommandRunner,
    private readonly path: string = checkedNativeHelperPath(),
  ) {}

  /** overlayfs at `target` whose image layers read as owned by the task's range (uid 0 → `ids.base`). */
  async mountIdmappedOverlay(overlay: IdmappedOverlay): Promise<void> {
    await this.run(this.path, [
      "overlay",
      String(overlay.ids.base),
      String(overlay.ids.size),
      overlay.upper,
      overlay.work,
      overlay.target,
      overlay.staging,
      ...overlay.layers,
    ]);
  }
}
