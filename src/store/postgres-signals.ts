// StoreSignals over PostgreSQL's LISTEN/NOTIFY. One connection of its own (outside the pool: a
// pooled connection is handed to other queries between uses, and LISTEN belongs to a session)
// listens on one channel; publishing is a NOTIFY through the pool. A replica delivers its own
// signals in-process at once and skips their echo from the server.
//
// The listening connection is remade with backoff when it fails; after it is back, every
// subscriber hears "anything may have changed" (notifications sent while it was down are lost).
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { sql } from "kysely";
import pg from "pg";
import type { Logger } from "../core/logger.js";
import type { SignalChannel, SignalHandler, StoreSignals } from "./store-signals.js";
import { LocalSignals } from "./store-signals.js";

const PG_CHANNEL = "berth_signals";
const CHANNELS: readonly SignalChannel[] = ["host-tasks", "network", "services", "load-balancers"];

export class PostgresSignals implements StoreSignals {
  private readonly local = new LocalSignals();
  /** Tells this replica's notifications from the others'. */
  private readonly origin = randomBytes(8).toString("hex");
  private listener: pg.Client | undefined;
  private closed = false;
  private reconnectDelayMs = 100;
  private reconnectTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
    private readonly logger: Pick<Logger, "warn">,
  ) {}

  static async start(pool: pg.Pool, clientConfig: pg.ClientConfig, logger: Pick<Logger, "warn">): Promise<PostgresSignals> {
    const signals = new PostgresSignals(pool, clientConfig, logger);
    await signals.listen();
    return signals;
  }

  publish(channel: SignalChannel, key: string): void {
    this.local.deliver(channel, key);
    // Fire and forget: a lost NOTIFY costs the other replicas' pollers at most one poll wait.
    this.pool.query("SELECT pg_notify($1, $2)", [PG_CHANNEL, this.payload(channel, key)]).catch((error: unknown) => {
      this.logger.warn({ err: error, channel }, "could not send a store signal to the other replicas");
    });
  }

  /**
   * NOTIFY as part of the caller's transaction: PostgreSQL delivers it at commit, and it costs no
   * commit of its own (a NOTIFY on its own is a transaction, with a WAL flush to wait for).
   */
  async notifyWithin<DB>(tx: Kysely<DB>, channel: SignalChannel, key: string): Promise<void> {
    await sql`SELECT pg_notify(${PG_CHANNEL}, ${this.payload(channel, key)})`.execute(tx);
  }

  deliver(channel: SignalChannel, key: string): void {
    this.local.deliver(channel, key);
  }

  private payload(channel: SignalChannel, key: string): string {
    return JSON.stringify([this.origin, channel, key]);
  }

  subscribe(channel: SignalChannel, handler: SignalHandler): () => void {
    return this.local.subscribe(channel, handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
    await this.local.close();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(this.clientConfig);
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    client.on("notification", (message) => this.received(message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.listener = client;
    this.reconnectDelayMs = 100;
  }

  private received(payload: string | undefined): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload ?? "");
    } catch {
      return; // not ours: anyone with access to the database can NOTIFY this channel
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) return;
    const [origin, channel, key] = parsed as unknown[];
    if (origin === this.origin || typeof key !== "string" || !CHANNELS.includes(channel as SignalChannel)) return;
    this.local.deliver(channel as SignalChannel, key);
  }

  /** The listening connection failed: drop it and listen again, with backoff. */
  private lost(failed: pg.Client): void {
    if (this.closed || this.listener !== failed) return;
    this.listener = undefined;
    failed.end().catch(() => undefined);
    this.listenAgain();
  }

  private listenAgain(): void {
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(delay * 2, 5_000);
    this.reconnectTimer = setTimeout(() => {
      if (this.closed) return;
      this.listen().then(
        () => this.local.deliverToAll(),
        (error: unknown) => {
          this.logger.warn({ err: error }, "store signals: could not listen again; retrying");
          if (!this.closed) this.listenAgain();
        },
      );
    }, delay);
    this.reconnectTimer.unref();
  }
}
