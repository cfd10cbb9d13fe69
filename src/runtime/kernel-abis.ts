// Which syscall ABIs the running kernel has, from its build configuration (/proc/config.gz, or
// /boot/config-<release> as Debian installs it). The seccomp filter is compiled for every
// architecture it lists, each costing `runc create` time (the x32 one ~10 ms here): an ABI the
// kernel was built without cannot be used by a container anyway, so it need not be in the filter.
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";

/** The running kernel's build configuration, when it can be read. */
export function readKernelConfig(): string | undefined {
  try {
    return gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    // not built with IKCONFIG_PROC: try the distribution's copy
  }
  try {
    return readFileSync(`/boot/config-${release()}`, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * libseccomp architectures the kernel certainly cannot run: today only x32 (an x86_64 kernel built
 * without CONFIG_X86_X32_ABI). Empty when the configuration cannot be read: then nothing is dropped.
 */
export function architecturesKernelLacks(config: string | undefined): string[] {
  if (config === undefined || !/^CONFIG_X86_64=y$/m.test(config)) return [];
  // Kernels before 5.18 name the option CONFIG_X86_X32.
  return /^CONFIG_X86_X32(_ABI)?=y$/m.test(config) ? [] : ["SCMP_ARCH_X32"];
}
