// A sha256/sha512 computed on a worker thread. Hashing a 100 MiB layer costs ~60 ms of CPU; on the
// main thread that time is taken from the tar parse that runs there, while a worker runs it on the
// other core, beside zlib and the file writes (which run on libuv's threadpool).
// One worker serves every layer of the process; it is unref'd, so it never keeps the process alive.
import { Worker } from "node:worker_threads";

// Plain CommonJS evaluated by the worker: no file to find next to the compiled one (dist/ or tsx).
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hashes = new Map();
parentPort.on("message", (message) => {
  if (message.op === "start") hashes.set(message.id, createHash(message.algorithm));
  else if (message.op === "update") {
    hashes.get(message.id).update(message.bytes);
    parentPort.postMessage({ id: message.id, hashed: message.bytes.length });
  }
  else if (message.op === "drop") hashes.delete(message.id);
  else if (message.op === "digest") {
    const hash = hashes.get(message.id);
    hashes.delete(message.id);
    parentPort.postMessage({ id: message.id, hex: hash.digest("hex") });
  }
});
`;

/** Bytes a hash may have queued for the worker before its producer is asked to wait (room()). */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

let worker: Worker | undefined;
let nextId = 1;
const waiting = new Map<number, { resolve: (hex: string) => void; reject: (error: Error) => void }>();
/** Per hash: bytes sent and not yet hashed, and the producer waiting for room, if any. */
const queues = new Map<number, { queued: number; limit: number; wake?: () => void }>();
/** Producers waiting in room(): like awaited digests, they keep the worker referenced. */
let waitingForRoom = 0;

const wake = (queue: { wake?: () => void }) => {
  const resume = queue.wake;
  queue.wake = undefined;
  resume?.();
};

function hashWorker(): Worker {
  if (worker) return worker;
  const started = new Worker(WORKER_SOURCE, { eval: true });
  started.on("message", ({ id, hex, hashed }: { id: number; hex?: string; hashed?: number }) => {
    if (hashed !== undefined) {
      const queue = queues.get(id);
      if (!queue) return;
      queue.queued -= hashed;
      if (queue.queued <= queue.limit) wake(queue);
      return;
    }
    waiting.get(id)?.resolve(hex!);
    waiting.delete(id);
    // Referenced only while a digest is awaited (a process waiting for nothing else still waits).
    if (waiting.size === 0 && waitingForRoom === 0) started.unref();
  });
  const fail = (error: Error) => {
    if (worker === started) worker = undefined;
    for (const { reject } of waiting.values()) reject(new Error(`layer hash worker failed: ${error.message}`));
    waiting.clear();
    // Producers waiting for room go on; their digest() then reports the failure.
    for (const queue of queues.values()) wake(queue);
    queues.clear();
  };
  started.on("error", fail);
  started.on("exit", (code) => fail(new Error(`exited with code ${code}`)));
  // After the listeners: adding a "message" listener references the worker's port again.
  started.unref();
  worker = started;
  return started;
}

/** The running hash of one blob: update() in order, then digest() once (or drop() on failure). */
export class WorkerHash {
  private readonly id = nextId++;
  private readonly worker = hashWorker();

  constructor(algorithm: "sha256" | "sha512", options: { maxQueuedBytes?: number } = {}) {
    queues.set(this.id, { queued: 0, limit: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES });
    this.worker.postMessage({ op: "start", id: this.id, algorithm });
  }

  /** The bytes are copied to the worker, so the caller may go on using (or reusing) them. */
  update(bytes: Uint8Array): void {
    const queue = queues.get(this.id);
    if (queue) queue.queued += bytes.length;
    this.worker.postMessage({ op: "update", id: this.id, bytes });
  }

  /** Bytes handed to update() that the worker has not hashed yet. */
  get queuedBytes(): number {
    return queues.get(this.id)?.queued ?? 0;
  }

  /**
   * Resolves once the worker has caught up to within the limit: a source faster than hashing
   * (a very fast registry, a CPU without SHA instructions) waits here instead of queueing the
   * whole blob in memory.
   */
  room(): Promise<void> {
    const queue = queues.get(this.id);
    if (!queue || queue.queued <= queue.limit) return Promise.resolve();
    this.worker.ref();
    waitingForRoom += 1;
    return new Promise<void>((resolve) => {
      queue.wake = () => {
        waitingForRoom -= 1;
        if (waiting.size === 0 && waitingForRoom === 0) this.worker.unref();
        resolve();
      };
    });
  }

  /** Hex digest of everything passed to update(). */
  digest(): Promise<string> {
    queues.delete(this.id);
    return new Promise((resolve, reject) => {
      if (worker !== this.worker) return reject(new Error("layer hash worker failed while hashing"));
      waiting.set(this.id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ op: "digest", id: this.id });
    });
  }

  drop(): void {
    const queue = queues.get(this.id);
    queues.delete(this.id);
    if (queue) wake(queue);
    this.worker.postMessage({ op: "drop", id: this.id });
  }
}
