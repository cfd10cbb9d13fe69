// HAProxy's traffic counters, from `show stat` (management.txt 9.1, "CSV format"), pure. The
// counters are cumulative since the worker started: a reload starts a new worker at zero (seen
// with 2.6's master-worker model: after `reload` every row counts from 0 again), and a server added
// at runtime starts at zero; the caller takes deltas (src/agent/load-balancer-metrics.ts).
//
//   FRONTEND rows (ls-<listener>)   req_tot (HTTP requests received), hrsp_* (every response sent
//                                   to clients, the proxy's own included), stot, scur
//   BACKEND rows (tg-<group>)       req_tot (requests routed to the group)
//   server rows (tg-<group>/<srv>)  hrsp_* (responses the target sent: the proxy's own 503s and
//                                   504s are counted on the backend row, not here; health checks
//                                   are counted in neither), rtime (ms, moving average of the time
//                                   to the response headers over the server's last 1,024 responses)

export interface StatCounters {
  /** pxname. */
  readonly proxy: string;
  /** svname: FRONTEND, BACKEND or the server's name. */
  readonly service: string;
  readonly requests: number;
  /** hrsp_1xx … hrsp_5xx, at 1 … 5; hrsp_other at 0. */
  readonly responses: readonly [number, number, number, number, number, number];
  /** stot: sessions (connections for a TCP frontend). */
  readonly sessions: number;
  /** scur: current sessions (a gauge). */
  readonly currentSessions: number;
  /** rtime in ms (0 when none). */
  readonly responseTimeMs: number;
}

/** A counter's field: a non-negative safe integer, else 0 (an empty field: not counted for this row's type). */
function count(value: string | undefined): number {
  const number = Number(value ?? "");
  return Number.isSafeInteger(number) && number >= 0 ? number : 0;
}

/** Every frontend, backend and server row of a `show stat` answer. */
export function parseCounters(csv: string): StatCounters[] {
  const [header, ...lines] = csv.split("\n");
  const columns = (header ?? "").replace(/^# /, "").split(",");
  const at = (name: string) => columns.indexOf(name);
  const index = {
    proxy: at("pxname"),
    service: at("svname"),
    requests: at("req_tot"),
    sessions: at("stot"),
    current: at("scur"),
    rtime: at("rtime"),
    codes: ["hrsp_other", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx"].map(at),
  };
  if (index.proxy < 0 || index.service < 0) return [];
  const rows: StatCounters[] = [];
  for (const line of lines) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(",");
    const [proxy, service] = [fields[index.proxy], fields[index.service]];
    if (!proxy || !service) continue;
    const codes = index.codes.map((column) => count(fields[column]));
    rows.push({
      proxy,
      service,
      requests: count(fields[index.requests]),
      responses: [codes[0]!, codes[1]!, codes[2]!, codes[3]!, codes[4]!, codes[5]!],
      sessions: count(fields[index.sessions]),
      currentSessions: count(fields[index.current]),
      responseTimeMs: count(fields[index.rtime]),
    });
  }
  return rows;
}

/** The worker's pid in a `show info` answer ("Pid: 1234"), undefined when absent. */
export function workerPid(showInfo: string): number | undefined {
  const match = /^Pid:\s*(\d+)\s*$/m.exec(showInfo);
  return match ? Number(match[1]) : undefined;
}
