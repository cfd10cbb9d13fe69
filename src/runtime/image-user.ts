// Resolves a container's `user` ("name", "uid", "name:group", "uid:gid", …) against the image's
// /etc/passwd and /etc/group, as Docker does: a name must exist in the image, a number need not;
// the user's supplementary groups come from /etc/group membership.

export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
  /** The home directory, for HOME when the environment does not set it. */
  readonly home: string;
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split("\n")
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= 7 && /^\d+$/.test(fields[2]!) && /^\d+$/.test(fields[3]!))
    .map((fields) => ({ name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! || "/" }));
}

function parseGroup(text: string): GroupEntry[] {
  return text
    .split("\n")
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= 4 && /^\d+$/.test(fields[2]!))
    .map((fields) => ({ name: fields[0]!, gid: Number(fields[2]), members: fields[3]!.split(",").filter(Boolean) }));
}

export class UnknownUserError extends Error {}

/** `passwd` and `group` are the image's files (empty when the image has none). */
export function resolveUser(user: string | undefined, passwd: string, group: string): ResolvedUser {
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  const [userPart = "", groupPart] = (user ?? "").split(":", 2);
  let entry: PasswdEntry | undefined;
  let uid = 0;
  if (userPart === "") {
    entry = users.find((candidate) => candidate.uid === 0);
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    entry = users.find((candidate) => candidate.uid === uid);
  } else {
    entry = users.find((candidate) => candidate.name === userPart);
    if (!entry) throw new UnknownUserError(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (entry) uid = entry.uid;
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== "") {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const named = groups.find((candidate) => candidate.name === groupPart);
      if (!named) throw new UnknownUserError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = named.gid;
    }
  }
  // An explicit group replaces the supplementary groups, as in Docker.
  const additionalGids =
    entry && groupPart === undefined
      ? groups.filter((candidate) => candidate.members.includes(entry!.name) && candidate.gid !== gid).map((candidate) => candidate.gid)
      : [];
  return { uid, gid, additionalGids, home: entry?.home ?? "/" };
}
