// Where scripts/build-native.sh puts Berth's native helper (src/runtime/native/berth-task-helper.c):
// <package root>/dist/native/berth-task-helper, whether this module runs from src/ (tsx) or from
// the compiled dist/src/. Only computes the path; the network and runtime modules run it.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export function nativeHelperPath(): string {
  const here = fileURLToPath(import.meta.url);
  const compiled = here.lastIndexOf(`${join("/dist", "src")}/`);
  const packageRoot = compiled >= 0 ? here.slice(0, compiled) : resolve(dirname(here), "..", "..");
  return join(packageRoot, "dist", "native", "berth-task-helper");
}
