// For scripts/test.sh: `start` makes a PostgreSQL cluster of the tests' own (test/support/postgres.ts)
// and prints "URL DIR"; it keeps running after this command exits. `stop DIR` stops and removes it.
import { startPostgresCluster, stopPostgresClusterSync } from "./postgres.js";

const [command, dir] = process.argv.slice(2);
if (command === "start") {
  const cluster = await startPostgresCluster({ keep: true });
  process.stdout.write(`${cluster.url} ${cluster.dir}\n`);
} else if (command === "stop" && dir) {
  stopPostgresClusterSync(dir);
} else {
  process.stderr.write("usage: postgres-cluster-cli.ts start | stop DIR\n");
  process.exitCode = 2;
}
