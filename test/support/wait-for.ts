// Waiting on a condition instead of sleeping a fixed time: a test goes on the moment the thing it
// waits for has happened, and a slow machine only makes it slower, not wrong.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `condition` (sync or async) every `intervalMs` until it holds; throws after `timeoutMs`
 * naming `what`. A condition that throws fails the wait at once.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: { what: string; timeoutMs?: number; intervalMs?: number }): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what}`);
    await sleep(options.intervalMs ?? 50);
  }
}
