// The default seccomp filter: Debian's containers-common ships the profile podman and CRI-O use
// (/usr/share/containers/seccomp.json, kept up to date with new syscalls by its maintainers). Its
// format is a superset of the OCI one: rules carry `includes`/`excludes` on architectures and
// capabilities, resolved here for one container (its arch and bounding capabilities) into plain
// OCI `linux.seccomp`.

export const DEFAULT_SECCOMP_PROFILE_PATH = "/usr/share/containers/seccomp.json";

interface ProfileRule {
  names?: string[];
  name?: string;
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[] | null;
  includes?: { arches?: string[]; caps?: string[]; minKernel?: string };
  excludes?: { arches?: string[]; caps?: string[] };
}

interface ContainersProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls: ProfileRule[];
}

/** Go/OCI architecture names (as in image configs) → libseccomp's. */
const SECCOMP_ARCH: Record<string, string> = { amd64: "SCMP_ARCH_X86_64", arm64: "SCMP_ARCH_AARCH64", x86: "SCMP_ARCH_X86", arm: "SCMP_ARCH_ARM" };

const kernelAtLeast = (running: string, minimum: string): boolean => {
  const [a = 0, b = 0] = running.split(".").map((part) => parseInt(part, 10));
  const [c = 0, d = 0] = minimum.split(".").map((part) => parseInt(part, 10));
  return a > c || (a === c && b >= d);
};

/**
 * Resolves the profile for a container; `profileJson` is the file's text. `kernelLacks` lists
 * libseccomp architectures the running kernel cannot execute (kernel-abis.ts): they are left out of
 * the filter's sub-architectures, since each one listed is compiled into it at every create.
 */
export function resolveSeccompProfile(
  profileJson: string,
  options: { architecture: string; capabilities: readonly string[]; kernelRelease: string; kernelLacks?: readonly string[] },
): object {
  const profile = JSON.parse(profileJson) as ContainersProfile;
  const caps = new Set(options.capabilities);
  const arch = SECCOMP_ARCH[options.architecture];
  const mapped = profile.archMap?.find((entry) => entry.architecture === arch);
  const subArchitectures = (mapped?.subArchitectures ?? []).filter((sub) => !options.kernelLacks?.includes(sub));
  const architectures = mapped ? [mapped.architecture, ...subArchitectures] : arch ? [arch] : [];
  const applies = (rule: ProfileRule): boolean => {
    const inc = rule.includes ?? {};
    const exc = rule.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(options.architecture)) return false;
    if (inc.caps?.length && !inc.caps.every((cap) => caps.has(cap))) return false;
    if (inc.minKernel && !kernelAtLeast(options.kernelRelease, inc.minKernel)) return false;
    if (exc.arches?.length && exc.arches.includes(options.architecture)) return false;
    if (exc.caps?.length && exc.caps.some((cap) => caps.has(cap))) return false;
    return true;
  };
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures,
    syscalls: profile.syscalls.filter(applies).map((rule) => ({
      names: rule.names ?? (rule.name ? [rule.name] : []),
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args?.length ? { args: rule.args.map((arg) => ({ index: arg.index, value: arg.value, valueTwo: arg.valueTwo ?? 0, op: arg.op })) } : {}),
    })),
  };
}
