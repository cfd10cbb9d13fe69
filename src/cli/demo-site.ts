// The web app `berth demo` builds: busybox httpd serving one page, made per request by a CGI script
// (busybox httpd runs /cgi-bin/index.cgi for "/" when there is no index.html), showing what the
// container knows of its task: hostname, its IP, region, execution environment, and what the task
// metadata endpoint v4 (${ECS_CONTAINER_METADATA_URI_V4}/task, served at 169.254.170.2 in the
// task's VPC router) says of it: its ARN, cluster, family and revision, status and zone. Fields
// are cut out of the JSON with sed (busybox has no JSON tool): the task's own keys come before its
// Containers array, so the first match of a key is the task's.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What the page always contains, so a caller can check it got the demo's page. */
export const DEMO_PAGE_TITLE = "Hello from Berth";

const INDEX_CGI = `#!/bin/sh
# Runs per request under busybox httpd with the container's environment.
esc() { sed -e 's/&/\\&amp;/g' -e 's/</\\&lt;/g' -e 's/>/\\&gt;/g'; }
row() { printf '<tr><th>%s</th><td><code>%s</code></td></tr>\\n' "$1" "$(printf '%s' "$2" | esc)"; }
ip4=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n 1)
printf 'Content-Type: text/html; charset=utf-8\\r\\n\\r\\n'
cat <<HTML
<!doctype html>
<html><head><title>${DEMO_PAGE_TITLE}</title>
<style>body{font-family:sans-serif;margin:3em}th{text-align:left;padding-right:1em}</style></head>
<body><h1>${DEMO_PAGE_TITLE}</h1>
<p>This page is served by busybox httpd in a Fargate-style task run by Berth.
Your application is now running on a container in the task.</p>
<table>
HTML
row "Hostname" "$(hostname)"
row "Private IPv4 address" "\${ip4:-unknown}"
row "AWS_REGION" "\${AWS_REGION:-not set}"
row "AWS_EXECUTION_ENV" "\${AWS_EXECUTION_ENV:-not set}"
meta=""
[ -n "\${ECS_CONTAINER_METADATA_URI_V4:-}" ] && meta=$(timeout 3 wget -q -O- "\$ECS_CONTAINER_METADATA_URI_V4/task" 2>/dev/null)
field() { printf '%s' "$meta" | tr ',{}[]' '\\n\\n\\n\\n\\n' | sed -n "s/^\\"$1\\":\\"\\(.*\\)\\"\\$/\\1/p" | head -n 1; }
if [ -n "\$meta" ]; then
  row "Task ARN (task metadata endpoint)" "$(field TaskARN)"
  row "Cluster" "$(field Cluster)"
  row "Task definition" "$(field Family):$(field Revision)"
  row "Task status" "$(field KnownStatus)"
  row "Availability Zone" "$(field AvailabilityZone)"
else
  row "Task metadata endpoint" "not reachable"
fi
row "Server time (UTC)" "$(date -u '+%Y-%m-%d %H:%M:%S')"
cat <<HTML
</table></body></html>
HTML
`;

/** Writes the site under <dir>/www (what the image's /www becomes); returns that directory. */
export function writeDemoSite(dir: string): string {
  const www = join(dir, "www");
  mkdirSync(join(www, "cgi-bin"), { recursive: true });
  writeFileSync(join(www, "cgi-bin", "index.cgi"), INDEX_CGI);
  chmodSync(join(www, "cgi-bin", "index.cgi"), 0o755);
  return www;
}

/**
 * The container command: httpd on port 80 logging requests (-v), under a shell that turns SIGTERM
 * into a clean stop. As PID 1 of its namespace httpd itself would ignore SIGTERM (no handler), so
 * every StopTask would wait out the 30 s stopTimeout before SIGKILL.
 */
export const DEMO_COMMAND = ["sh", "-c", "trap 'kill $pid; exit 0' TERM; httpd -f -v -p 80 -h /www & pid=$!; wait $pid"] as const;
