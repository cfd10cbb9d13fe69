// Signals between the replicas sharing a store: "the desired tasks of host X changed" must wake
// that host's long poll on whichever replica the agent is connected to. SQLite has one replica, so
// signals stay in the process; on PostgreSQL they also travel by NOTIFY to every replica's LISTEN
// connection (postgres-signals.ts).
//
// A subscriber may also be called with `undefined`: "anything may have changed" (the LISTEN
// connection was lost and remade, and notifications sent meanwhile are gone). It must then treat
// every key as changed, which for a long poll is one spurious answer per agent: harmless.

// "network": something hosts enforce changed (an interface's groups, a group's rules); the key is
// the new network generation (control-plane-state-repository.ts), and every host re-reads its view.
// "services": a service's desired state, or one of its tasks' state, changed; the key is the
// service's ARN or name, and the service scheduler (on whichever replica holds its lease) runs a pass.
// "load-balancers": the ELBv2 model changed (a load balancer, listener, rule, target group or
// target); every replica re-answers its hosts' polls and the node placement loop runs a pass.
export type SignalChannel = "host-tasks" | "network" | "services" | "load-balancers";

export type SignalHandler = (key: string | undefined) => void;

export interface StoreSignals {
  /** Tells every replica's subscribers of `channel` (this one's too) that `key` changed. */
  publish(channel: SignalChannel, key: string): void;
  /** Calls `handler` for each signal on `channel`; returns the unsubscribe. */
  subscribe(channel: SignalChannel, handler: SignalHandler): () => void;
  close(): Promise<void>;
}

/** Subscribers of this process, by channel: what both implementations deliver to. */
export class LocalSignals implements StoreSignals {
  private readonly handlers = new Map<SignalChannel, Set<SignalHandler>>();

  publish(channel: SignalChannel, key: string): void {
    this.deliver(channel, key);
  }

  deliver(channel: SignalChannel, key: string | undefined): void {
    for (const handler of this.handlers.get(channel) ?? []) handler(key);
  }

  deliverToAll(): void {
    for (const channel of this.handlers.keys()) this.deliver(channel, undefined);
  }

  subscribe(channel: SignalChannel, handler: SignalHandler): () => void {
    const set = this.handlers.get(channel) ?? new Set<SignalHandler>();
    this.handlers.set(channel, set);
    set.add(handler);
    return () => set.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
