// A minimal image root for runtime tests that need no registry: Debian's busybox-static and its
// applet links, plus /etc/passwd and /etc/group with a non-root user. Returned as one layer dir.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync, chmodSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";

export function makeBusyboxLayer(dir: string): string {
  mkdirSync(join(dir, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(dir, "bin", "busybox"));
  chmodSync(join(dir, "bin", "busybox"), 0o755);
  const applets = execFileSync("/bin/busybox", ["--list-full"], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const applet of applets) {
    const target = join(dir, applet);
    if (existsSync(target) || applet === "bin/busybox") continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync("/bin/busybox", target);
  }
  for (const sub of ["etc", "tmp", "root", "home/app", "proc", "sys", "dev"]) mkdirSync(join(dir, sub), { recursive: true });
  chmodSync(join(dir, "tmp"), 0o1777);
  writeFileSync(join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
  writeFileSync(join(dir, "etc", "group"), "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
  execFileSync("chown", ["1000:1000", join(dir, "home", "app")]);
  return dir;
}
