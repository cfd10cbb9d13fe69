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
  else if (message.op === "update") hashes.get(message.id).update(message.bytes);
  else if (message.op === "drop") hashes.delete(message.id);
  else if (message.op === "digest") {
    const hash = hashes.get(message.id);
    hashes.delete(message.id);
    parentPort.postMessage({ id: message.id, hex: hash.digest("hex") });
  }
});
`;

let worker: Worker | undefined;
let nextId = 1;
const waiting = new Map<number, { resolve: (hex: string) => void; reject: (error: Error) => void }>();

function hashWorker(): Worker {
  if (worker) return worker;
  const started = new Worker(WORKER_SOURCE, { eval: true });
  started.on("message", ({ id, hex }: { id: number; hex: string }) => {
    waiting.get(id)?.resolve(hex);
    waiting.delete(id);
    // Referenced only while a digest is awaited (a process waiting for nothing else still waits).
    if (waiting.size === 0) started.unref();
  });
  const fail = (error: Error) => {
    if (worker === started) worker = undefined;
    for (const { reject } of waiting.values()) reject(new Error(`layer hash worker failed: ${error.message}`));
    waiting.clear();
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

  constructor(algorithm: "sha256" | "sha512") {
    this.worker.postMessage({ op: "start", id: this.id, algorithm });
  }

  /** The bytes are copied to the worker, so the caller may go on using (or reusing) them. */
  update(bytes: Uint8Array): void {
    this.worker.postMessage({ op: "update", id: this.id, bytes });
  }

  /** Hex digest of everything passed to update(). */
  digest(): Promise<string> {
    return new Promise((resolve, reject) => {
      if (worker !== this.worker) return reject(new Error("layer hash worker failed while hashing"));
      waiting.set(this.id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ op: "digest", id: this.id });
    });
  }

  drop(): void {
    this.worker.postMessage({ op: "drop", id: this.id });
  }
}
