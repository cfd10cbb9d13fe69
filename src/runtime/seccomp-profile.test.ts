import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveSeccompProfile } from "./seccomp-profile.js";

const profile = JSON.stringify({
  defaultAction: "SCMP_ACT_ERRNO",
  defaultErrnoRet: 38,
  archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }],
  syscalls: [
    { names: ["read", "write"], action: "SCMP_ACT_ALLOW", args: [] },
    { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64"] } },
    { names: ["sync_file_range2"], action: "SCMP_ACT_ALLOW", includes: { arches: ["ppc64le"] } },
    { names: ["ptrace"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_PTRACE"] } },
    { names: ["ptrace"], action: "SCMP_ACT_ERRNO", errnoRet: 1, excludes: { caps: ["CAP_SYS_PTRACE"] } },
    { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, valueTwo: 0, op: "SCMP_CMP_EQ" }] },
  ],
});
type Resolved = { defaultAction: string; defaultErrnoRet: number; architectures: string[]; syscalls: { names: string[]; action: string; args?: unknown[] }[] };

test("rules are kept by architecture and capabilities, and the arch map gives the sub-architectures", () => {
  const plain = resolveSeccompProfile(profile, { architecture: "amd64", capabilities: ["CAP_CHOWN"], kernelRelease: "6.1.0" }) as Resolved;
  assert.deepEqual(plain.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
  assert.deepEqual(
    plain.syscalls.map((rule) => `${rule.names.join(",")}:${rule.action}`),
    ["read,write:SCMP_ACT_ALLOW", "arch_prctl:SCMP_ACT_ALLOW", "ptrace:SCMP_ACT_ERRNO", "personality:SCMP_ACT_ALLOW"],
  );
  assert.equal(plain.syscalls[3]!.args!.length, 1);
  const traced = resolveSeccompProfile(profile, { architecture: "amd64", capabilities: ["CAP_SYS_PTRACE"], kernelRelease: "6.1.0" }) as Resolved;
  assert.ok(traced.syscalls.some((rule) => rule.names[0] === "ptrace" && rule.action === "SCMP_ACT_ALLOW"));
  assert.ok(!traced.syscalls.some((rule) => rule.names[0] === "ptrace" && rule.action === "SCMP_ACT_ERRNO"));
});

test("Debian's containers-common profile resolves for this host", async () => {
  const { readFileSync, existsSync } = await import("node:fs");
  const path = "/usr/share/containers/seccomp.json";
  assert.ok(existsSync(path), "golang-github-containers-common is installed by scripts/setup.sh");
  const resolved = resolveSeccompProfile(readFileSync(path, "utf8"), { architecture: "amd64", capabilities: [], kernelRelease: "6.1.0" }) as Resolved;
  assert.equal(resolved.defaultAction, "SCMP_ACT_ERRNO");
  assert.ok(resolved.syscalls.some((rule) => rule.names.includes("read")));
  assert.ok(!resolved.syscalls.some((rule) => rule.action === "SCMP_ACT_ALLOW" && rule.names.includes("kexec_load")), "kexec_load needs CAP_SYS_BOOT");
});

test("architectures the kernel lacks are left out of the filter; the rules stay", () => {
  const full = resolveSeccompProfile(profile, { architecture: "amd64", capabilities: [], kernelRelease: "6.1.0" }) as Resolved;
  const trimmed = resolveSeccompProfile(profile, {
    architecture: "amd64",
    capabilities: [],
    kernelRelease: "6.1.0",
    kernelLacks: ["SCMP_ARCH_X32"],
  }) as Resolved;
  assert.deepEqual(trimmed.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
  assert.deepEqual(trimmed.syscalls, full.syscalls);
});
