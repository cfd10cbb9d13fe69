// `berth join-token create`: issues an agent join token on this server's data dir (one per agent
// or per batch of agents, optionally expiring), besides the bootstrap <data-dir>/agent-token. The
// token is printed once; only its sha256 is stored. Works while the server runs (SQLite WAL).
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openSqliteStore } from "../../store/index.js";
import { parseCommandLine } from "../command-line.js";

const USAGE = `usage: berth join-token create [--data-dir DIR] [--expires-in-hours N] [--description TEXT]

  --data-dir          the server's data dir (default /var/lib/berth)
  --expires-in-hours  the token stops joining new hosts after this long (default: never)
  --description       a note kept with the token (e.g. which host it is for)`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("join-token", USAGE, {
    args: argv,
    allowPositionals: true,
    options: {
      "data-dir": { type: "string", default: "/var/lib/berth" },
      "expires-in-hours": { type: "string" },
      description: { type: "string", default: "" },
      help: { type: "boolean" },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals[0] !== "create" || positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const hours = values["expires-in-hours"] === undefined ? undefined : Number(values["expires-in-hours"]);
  if (hours !== undefined && !(Number.isFinite(hours) && hours > 0)) {
    process.stderr.write(`berth join-token: --expires-in-hours must be a positive number, not '${values["expires-in-hours"]}'\n`);
    return 2;
  }
  const database = join(values["data-dir"]!, "berth.db");
  if (!existsSync(database)) {
    process.stderr.write(`berth join-token: no Berth server data in ${values["data-dir"]} (start berth server with that --data-dir first)\n`);
    return 2;
  }
  const store = await openSqliteStore({ path: database });
  try {
    const token = randomBytes(24).toString("base64url");
    const now = Date.now();
    await store.joinTokens.create({
      token_sha256: createHash("sha256").update(token).digest("hex"),
      created_at: now,
      expires_at: hours === undefined ? null : now + Math.round(hours * 3_600_000),
      description: values.description!.slice(0, 256),
    });
    process.stdout.write(`${token}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
