import { test } from "node:test";
import assert from "node:assert/strict";
import { buildOciSpec, containerArgs, mergeEnvironment } from "./oci-spec.js";
import { resolveUser } from "./image-user.js";

const base = {
  image: { env: ["PATH=/bin", "FROM_IMAGE=1", "SHARED=image"], entrypoint: ["/entry"], cmd: ["serve"], workingDir: "/srv" },
  user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
  platformEnv: { AWS_REGION: "us-east-1" },
  hostname: "ip-10-0-0-4.ec2.internal",
  netnsPath: "/var/run/netns/bth-x",
  rootfsPath: "/run/berth/tasks/x/t/containers/app/rootfs",
  ids: { base: 1_073_872_896, size: 65_536 },
  userNamespacePath: "/run/berth/userns/bth-x",
  cgroupsPath: "/berth/t/app",
  mounts: [],
  hostHardLimits: { RLIMIT_NOFILE: 20_000 },
};
type Spec = {
  process: {
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[] };
    rlimits: { type: string; soft: number; hard: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  linux: {
    namespaces: { type: string; path?: string }[];
    uidMappings: object[];
    gidMappings: object[];
    resources: { memory?: { limit: number; reservation: number; swap: number }; cpu?: { shares: number } };
  };
  mounts: { destination: string; type: string; source: string; options: string[] }[];
};

test("a definition's entryPoint drops the image's CMD; command alone keeps the image's entrypoint", () => {
  assert.deepEqual(containerArgs({ entryPoint: ["/bin/sh"] }, base.image), ["/bin/sh"]);
  assert.deepEqual(containerArgs({ command: ["run"] }, base.image), ["/entry", "run"]);
  assert.deepEqual(containerArgs({}, base.image), ["/entry", "serve"]);
});

test("environment: definition over image, platform over both, HOME from the user", () => {
  const env = mergeEnvironment(base.image.env, { environment: [{ name: "SHARED", value: "def" }] }, { AWS_REGION: "eu-west-1" }, "/home/app");
  assert.deepEqual(env, ["PATH=/bin", "FROM_IMAGE=1", "SHARED=def", "AWS_REGION=eu-west-1", "HOME=/home/app"]);
});

test("isolation defaults: no NET_RAW, no-new-privileges, own namespaces, the task netns, nofile clamped", () => {
  const spec = buildOciSpec({ ...base, definition: { name: "app", readonlyRootFilesystem: true, memory: 128, memoryReservation: 64, cpu: 128 } }) as Spec;
  assert.ok(!spec.process.capabilities.bounding.includes("CAP_NET_RAW"));
  assert.ok(spec.process.capabilities.bounding.includes("CAP_CHOWN"));
  assert.equal(spec.process.noNewPrivileges, true);
  assert.equal(spec.root.readonly, true);
  assert.deepEqual(
    spec.linux.namespaces.map((ns) => ns.type),
    ["user", "pid", "ipc", "uts", "mount", "network"],
  );
  assert.equal(spec.linux.namespaces[5]!.path, "/var/run/netns/bth-x");
  assert.equal(spec.root.path, "/run/berth/tasks/x/t/containers/app/rootfs");
  assert.deepEqual(spec.process.rlimits, [{ type: "RLIMIT_NOFILE", soft: 20_000, hard: 20_000 }]);
  assert.deepEqual(spec.linux.resources.memory, { limit: 128 * 1024 * 1024, swap: 128 * 1024 * 1024, reservation: 64 * 1024 * 1024 });
  assert.deepEqual(spec.linux.resources.cpu, { shares: 128 });
  assert.equal(spec.process.cwd, "/srv");
});

test("SYS_PTRACE can be added, a non-root user starts without effective capabilities", () => {
  const spec = buildOciSpec({
    ...base,
    user: { uid: 1000, gid: 1000, additionalGids: [], home: "/" },
    definition: { name: "app", linuxParameters: { capabilities: { add: ["SYS_PTRACE"] } } },
  }) as Spec;
  assert.ok(spec.process.capabilities.bounding.includes("CAP_SYS_PTRACE"));
  assert.deepEqual(spec.process.capabilities.effective, []);
});

test("initProcessEnabled puts the static init first and mounts it at /dev/init", () => {
  const spec = buildOciSpec({ ...base, initPath: "/usr/bin/tini-static", definition: { name: "app", linuxParameters: { initProcessEnabled: true } } }) as Spec;
  assert.deepEqual(spec.process.args, ["/dev/init", "--", "/entry", "serve"]);
  assert.ok(spec.mounts.some((mount) => mount.destination === "/dev/init"));
});

test("an image without a command and a definition without one is refused", () => {
  assert.throws(() => buildOciSpec({ ...base, image: { env: [] }, definition: { name: "app" } }), /no command specified/);
});

test("users resolve by name, uid, name:group and uid:gid against the image's files", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n";
  const group = "root:x:0:\napp:x:1000:\nextra:x:2000:app\n";
  assert.deepEqual(resolveUser("app", passwd, group), { uid: 1000, gid: 1000, additionalGids: [2000], home: "/home/app" });
  assert.deepEqual(resolveUser("1000:2000", passwd, group), { uid: 1000, gid: 2000, additionalGids: [], home: "/home/app" });
  assert.deepEqual(resolveUser("4242", passwd, group), { uid: 4242, gid: 0, additionalGids: [], home: "/" });
  assert.deepEqual(resolveUser(undefined, passwd, group), { uid: 0, gid: 0, additionalGids: [], home: "/root" });
  assert.throws(() => resolveUser("nobody", passwd, group), /unable to find user nobody/);
  assert.throws(() => resolveUser("app:nogroup", passwd, group), /unable to find group nogroup/);
});

test("user namespace: the task's, joined by path, with container ids 0..65535 on the task's host range; /sys read-only", () => {
  const spec = buildOciSpec({ ...base, definition: { name: "app" } }) as Spec;
  assert.deepEqual(spec.linux.namespaces[0], { type: "user", path: "/run/berth/userns/bth-x" });
  assert.deepEqual(spec.linux.uidMappings, [{ containerID: 0, hostID: 1_073_872_896, size: 65_536 }]);
  assert.deepEqual(spec.linux.gidMappings, [{ containerID: 0, hostID: 1_073_872_896, size: 65_536 }]);
  const sys = spec.mounts.find((mount) => mount.destination === "/sys")!;
  assert.equal(sys.type, "sysfs");
  assert.ok(sys.options.includes("ro") && sys.options.includes("nosuid") && sys.options.includes("noexec"));
});
