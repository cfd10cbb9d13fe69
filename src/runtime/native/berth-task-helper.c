/*
 * berth-task-helper: the kernel calls a task's user namespace needs that Node.js cannot make,
 * each in one short-lived process run by the agent.
 *
 * Why native: Node.js cannot call unshare/setns/open_tree/mount_setattr/move_mount, Debian 12's
 * mount(8) (util-linux 2.38) has no X-mount.idmap, and runc 1.1 can neither request idmapped mounts
 * nor `exec` into a container whose network namespace belongs to a user namespace other than its
 * own (it joins the user namespace first, then lacks the right to join the network namespace).
 *
 *   berth-task-helper namespaces BASE COUNT USERNS_FILE NETNS_FILE
 *     a user namespace mapping 0..COUNT-1 to host ids BASE..BASE+COUNT-1 and a network namespace
 *     owned by it, both kept by bind mounts at the two files (the second where `ip netns` finds
 *     it). Containers join both by path, so runc can mount sysfs and exec health checks in them.
 *   berth-task-helper overlay BASE COUNT UPPER WORK TARGET STAGING LAYER... (bottom layer first)
 *     1. a user namespace with the same mapping (a child that unshares and waits; we write its
 *        maps and keep a descriptor to its namespace)
 *     2. each LAYER cloned (open_tree), idmapped through that namespace (mount_setattr) and
 *        attached at STAGING/<index> (move_mount): a file stored as uid 0 reads as uid BASE
 *     3. overlayfs at TARGET over the idmapped layers (lowerdir lists the top layer first)
 *     4. the staging mounts detached (umount2 MNT_DETACH): overlayfs holds private clones of its
 *        layers, so nothing is left to clean up but TARGET itself
 *
 * Every path comes from the agent, which confines them under its own directories; the kernel
 * checks the rest. Exit status 0 on success; otherwise 1 with one line on stderr naming the step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LAYERS 127

static int fail(const char *step, const char *subject) {
  fprintf(stderr, "berth-task-helper: %s %s: %s\n", step, subject ? subject : "", strerror(errno));
  return 1;
}

static int parse_id(const char *text, unsigned long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value > 0xfffffffeUL) return -1;
  *out = value;
  return 0;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t written = write(fd, text, strlen(text));
  int saved = errno;
  close(fd);
  errno = saved;
  return written == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * A child in a new user namespace with the mapping (and, with `with_netns`, a network namespace it
 * creates once mapped), paused until `release` is called, so its namespaces can be opened or
 * bind-mounted through /proc/<pid>/ns. Returns the child's pid, or -1.
 */
struct mapped_child {
  pid_t pid;
  int release_fd;
};

static int spawn_mapped(unsigned long base, unsigned long count, int with_netns, struct mapped_child *out) {
  int ready[2], release[2];
  if (pipe2(ready, O_CLOEXEC) || pipe2(release, O_CLOEXEC)) return -1;
  pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) {
    char byte = 0;
    close(ready[0]);
    close(release[1]); /* else our own copy keeps the reads below from ever seeing EOF */
    if (unshare(CLONE_NEWUSER) != 0) _exit(1);
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    if (read(release[0], &byte, 1) != 1) _exit(1); /* mapped */
    if (with_netns) {
      /* No user namespaces inside a task's: the seccomp profile allows unshare, and a nested
       * namespace would hand a container every capability over namespaces of its own, exposing
       * the kernel code behind most user-namespace escapes. The limit is per user namespace and
       * the container cannot raise it (/proc/sys is read-only in it, and it lacks the rights). */
      if (write_file("/proc/sys/user/max_user_namespaces", "0\n") != 0) _exit(1);
      if (unshare(CLONE_NEWNET) != 0) _exit(1);
    }
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    if (read(release[0], &byte, 1) < 0) _exit(1); /* EOF: done */
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char byte = 1, path[64], map[64];
  int ok = read(ready[0], &byte, 1) == 1;
  if (ok) {
    snprintf(map, sizeof map, "0 %lu %lu\n", base, count);
    snprintf(path, sizeof path, "/proc/%d/uid_map", child);
    ok = write_file(path, map) == 0;
    snprintf(path, sizeof path, "/proc/%d/gid_map", child);
    ok = ok && write_file(path, map) == 0;
  }
  ok = ok && write(release[1], &byte, 1) == 1 && read(ready[0], &byte, 1) == 1;
  int saved = errno;
  close(ready[0]);
  if (!ok) {
    close(release[1]);
    waitpid(child, NULL, 0);
    errno = saved ? saved : ECHILD;
    return -1;
  }
  out->pid = child;
  out->release_fd = release[1];
  return 0;
}

static void release_mapped(struct mapped_child *child) {
  close(child->release_fd); /* the child reads EOF and exits */
  waitpid(child->pid, NULL, 0);
}

/* A descriptor to a user namespace with the one mapping, held after its only process is gone. */
static int mapped_user_namespace(unsigned long base, unsigned long count) {
  struct mapped_child child;
  if (spawn_mapped(base, count, 0, &child) != 0) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", child.pid);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  int saved = errno;
  release_mapped(&child);
  errno = saved;
  return ns;
}

/* An empty file at `target` with the namespace `ns` of `pid` bind-mounted on it. */
static int bind_namespace(pid_t pid, const char *ns, const char *target) {
  char path[64];
  int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return fail("create", target);
  close(fd);
  snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, ns);
  if (mount(path, target, NULL, MS_BIND, NULL) != 0) {
    int status = fail("bind", target);
    unlink(target);
    return status;
  }
  return 0;
}

static int parse_range(char **argv, unsigned long *base, unsigned long *count) {
  return parse_id(argv[2], base) || parse_id(argv[3], count) || *count == 0 || *base + *count > 0xffffffffUL;
}

static int namespaces(int argc, char **argv) {
  unsigned long base, count;
  if (argc != 6 || parse_range(argv, &base, &count)) {
    fprintf(stderr, "usage: berth-task-helper namespaces BASE COUNT USERNS_FILE NETNS_FILE\n");
    return 2;
  }
  struct mapped_child child;
  if (spawn_mapped(base, count, 1, &child) != 0) return fail("user and network namespaces", NULL);
  int status = bind_namespace(child.pid, "user", argv[4]);
  if (status == 0) {
    status = bind_namespace(child.pid, "net", argv[5]);
    if (status != 0) {
      umount2(argv[4], MNT_DETACH);
      unlink(argv[4]);
    }
  }
  release_mapped(&child);
  return status;
}

static int overlay(int argc, char **argv) {
  unsigned long base, count;
  if (argc < 9 || parse_range(argv, &base, &count)) {
    fprintf(stderr, "usage: berth-task-helper overlay BASE COUNT UPPER WORK TARGET STAGING LAYER...\n");
    return 2;
  }
  const char *upper = argv[4], *work = argv[5], *target = argv[6], *staging = argv[7];
  char **layers = argv + 8;
  int layer_count = argc - 8;
  if (layer_count > MAX_LAYERS) {
    fprintf(stderr, "berth-task-helper: more than %d layers\n", MAX_LAYERS);
    return 2;
  }
  /* The kernel reads at most one page of mount options and silently cuts the rest: a cut could
   * leave a valid but shorter layer list. The lower layers are named relative to STAGING (the
   * working directory at mount time), so a list of 127 costs under 500 bytes. */
  char options[4096];
  int used = snprintf(options, sizeof options, "upperdir=%s,workdir=%s,lowerdir=", upper, work);
  for (int i = layer_count - 1; i >= 0 && used > 0 && (size_t)used < sizeof options; i--) used += snprintf(options + used, sizeof options - (size_t)used, "%d%s", i, i > 0 ? ":" : "");
  if (used < 0 || (size_t)used >= sizeof options) {
    fprintf(stderr, "berth-task-helper: overlay options longer than a page (upper and work paths too long)\n");
    return 2;
  }
  int ns = mapped_user_namespace(base, count);
  if (ns < 0) return fail("user namespace", NULL);
  if (mkdir(staging, 0700) != 0 && errno != EEXIST) return fail("mkdir", staging);
  if (chdir(staging) != 0) return fail("chdir", staging);

  char staged[16];
  int status = 0;
  for (int i = 0; i < layer_count && status == 0; i++) {
    snprintf(staged, sizeof staged, "%d", i);
    /* A run killed part-way may have left this layer attached: detach it first. */
    umount2(staged, MNT_DETACH);
    if (mkdir(staged, 0700) != 0 && errno != EEXIST) { status = fail("mkdir", staged); break; }
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, layers[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) { status = fail("open_tree", layers[i]); break; }
    /* Read-only, nodev and nosuid like the overlay: setuid bits already do nothing in a container
     * (no_new_privs), and here they would let any host user who reaches the mount become the
     * task's uid. */
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID, .userns_fd = (unsigned long)ns};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) status = fail("mount_setattr idmap", layers[i]);
    else if (syscall(SYS_move_mount, tree, "", AT_FDCWD, staged, MOVE_MOUNT_F_EMPTY_PATH) != 0) status = fail("move_mount", staged);
    close(tree);
  }
  if (status == 0 && mount("overlay", target, "overlay", MS_NODEV | MS_NOSUID, options) != 0) status = fail("mount overlay", target);
  for (int i = 0; i < layer_count; i++) {
    snprintf(staged, sizeof staged, "%d", i);
    umount2(staged, MNT_DETACH);
    rmdir(staged);
  }
  if (chdir("/") == 0) rmdir(staging);
  close(ns);
  return status;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "overlay") == 0) return overlay(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "namespaces") == 0) return namespaces(argc, argv);
  fprintf(stderr, "usage: berth-task-helper namespaces|overlay …\n");
  return 2;
}
