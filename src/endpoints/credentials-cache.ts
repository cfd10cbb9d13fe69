// The task role credentials a host's endpoint serves, one entry per task, kept in memory only
// (never logged, never in a state file): fetched from the control plane on the first request,
// refreshed before they expire, one fetch at a time per task.
//
// When to refresh: once less than min(15 minutes, a third of their lifetime) is left. The SDKs
// refresh their own copy ahead of expiry (the AWS SDK v3 from 5 minutes before, botocore's
// container provider from 15 minutes before, with an advisory window), so what the endpoint hands
// out must have more than that left, or every SDK call would fetch again. A third of the lifetime
// keeps a short-lived session (15 minutes, STS's least) from being refetched on every request.
import type { TaskCredentialsAnswer } from "../protocol/index.js";

export const REFRESH_WITHIN_MS = 15 * 60_000;

interface Entry {
  credentials?: TaskCredentialsAnswer;
  issuedAtMs?: number;
  inFlight?: Promise<TaskCredentialsAnswer>;
}

/** Whether credentials issued at `issuedAtMs` should be replaced at `nowMs`. */
export function needsRefresh(credentials: Pick<TaskCredentialsAnswer, "expiration">, issuedAtMs: number, nowMs: number): boolean {
  const lifetime = Math.max(credentials.expiration - issuedAtMs, 0);
  return credentials.expiration - nowMs < Math.min(REFRESH_WITHIN_MS, lifetime / 3);
}

export class CredentialsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly fetch: (taskArn: string) => Promise<TaskCredentialsAnswer>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The task's credentials: the cached ones while fresh; otherwise a fetch (shared by every request
   * waiting on it). A failed refresh still serves credentials that have not expired.
   */
  async get(taskArn: string): Promise<TaskCredentialsAnswer> {
    let entry = this.entries.get(taskArn);
    if (!entry) {
      entry = {};
      this.entries.set(taskArn, entry);
    }
    const { credentials, issuedAtMs } = entry;
    const now = this.now();
    if (credentials && issuedAtMs !== undefined && !needsRefresh(credentials, issuedAtMs, now)) return credentials;
    const fetched = (entry.inFlight ??= this.refresh(taskArn, entry));
    try {
      return await fetched;
    } catch (error) {
      if (credentials && credentials.expiration > this.now()) return credentials;
      throw error;
    }
  }

  private async refresh(taskArn: string, entry: Entry): Promise<TaskCredentialsAnswer> {
    const issuedAtMs = this.now();
    try {
      const credentials = await this.fetch(taskArn);
      // The task may have been forgotten meanwhile: nothing is kept for it then.
      if (this.entries.get(taskArn) === entry) Object.assign(entry, { credentials, issuedAtMs });
      return credentials;
    } finally {
      entry.inFlight = undefined;
    }
  }

  /** Drops a task's credentials (it stopped, or the agent forgot it). */
  forget(taskArn: string): void {
    this.entries.delete(taskArn);
  }

  /** The tasks with an entry (to drop those no longer running). */
  tasks(): string[] {
    return [...this.entries.keys()];
  }
}
