// Blob upload sessions, all of their state on disk in the blob dir, so a session begun on one
// replica continues on another (a chunked push through a load balancer: POST on A, PATCH on B, PUT
// on C) and survives a restart:
//   <uploads>/<uuid>/meta.json                 the session's repository and start time
//   <uploads>/<uuid>/<start, 16 digits>.part   the bytes one request wrote, from offset <start>
//   <uploads>/<uuid>/assembled.<random>        the blob's bytes, copied and hashed at finish
//
// A part is created with O_EXCL by the one request that writes it and is never opened for writing
// again: two requests appending at one offset (on two replicas) cannot both succeed, and bytes a
// request wrote before its client went away (or its server was killed) stay as progress. The
// upload's size is the run of contiguous parts from offset 0.
//
// At finish the bytes that become the blob must be exactly the bytes whose digest was checked,
// even if a request on another replica still writes to a part of the session (a client misusing
// it): the candidate is either a part this process wrote and closed (nobody else can write it),
// or a private copy of the parts made while hashing them. It is never a file another process may
// still be appending to.
import type { Hash } from "node:crypto";
import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { blobUploadInvalid, blobUploadUnknown, digestInvalid } from "./distribution-errors.js";

export interface UploadInfo {
  readonly uuid: string;
  readonly repository: string;
  readonly startedAt: number;
  readonly sizeBytes: number;
}

/** A blob's bytes ready to be placed: verified against the digest, fsynced, written by nobody any more. */
export interface VerifiedCandidate {
  readonly path: string;
  readonly sizeBytes: number;
}

/** What this process knows of a session besides the disk: whether a request of its own runs on it, and the hash of the first part it wrote. */
interface SessionState {
  busy: boolean;
  /** sha256 (hex) of the part at offset 0, when this process wrote and closed it. */
  firstPart: { readonly sizeBytes: number; readonly sha256: string } | undefined;
}

interface Piece {
  readonly path: string;
  /** Bytes of the part to use, [from, to). */
  readonly from: number;
  readonly to: number;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PART_PATTERN = /^(\d{16})\.part$/;
/**
 * The most parts (requests that wrote bytes) one upload may have: ECR's quota of layer parts. Every
 * request on a session lists and opens its parts, so without a bound a client sending one-byte
 * chunks makes each of its requests cost more than the last (an open is a round trip to the file
 * server on NFS, on the thread pool every file operation of the server shares).
 */
export const MAX_UPLOAD_PARTS = 4_200;
/** Sessions this process keeps state of; beyond it the idle ones are forgotten (their state is on disk). */
const MAX_SESSION_STATES = 10_000;

const partName = (start: number) => `${String(start).padStart(16, "0")}.part`;
const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class UploadSessions {
  private readonly states = new Map<string, SessionState>();

  constructor(
    private readonly dir: string,
    private readonly now: () => number,
  ) {}

  /** A session's directory; undefined for anything but a UUID (an upload id from a URL names nothing else). */
  private sessionDir(uuid: string): string | undefined {
    return UUID_PATTERN.test(uuid) ? join(this.dir, uuid) : undefined;
  }

  async start(repository: string): Promise<string> {
    const uuid = randomUUID();
    const dir = join(this.dir, uuid);
    await mkdir(dir, { mode: 0o700 });
    // Written beside and renamed: a replica reading the session never sees half of it.
    const temporary = join(dir, `meta.${randomUUID()}.new`);
    await writeFile(temporary, JSON.stringify({ repository, startedAt: this.now() }), { mode: 0o600, flag: "wx" });
    await rename(temporary, join(dir, "meta.json"));
    this.state(uuid);
    return uuid;
  }

  async info(uuid: string): Promise<UploadInfo | undefined> {
    const dir = this.sessionDir(uuid);
    if (!dir) return undefined;
    let meta: { repository?: unknown; startedAt?: unknown };
    try {
      meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as typeof meta;
    } catch (error) {
      if (isMissing(error) || error instanceof SyntaxError) {
        this.states.delete(uuid);
        return undefined;
      }
      throw error;
    }
    if (typeof meta.repository !== "string" || typeof meta.startedAt !== "number") return undefined;
    const { sizeBytes } = contiguous(await this.parts(dir));
    return { uuid, repository: meta.repository, startedAt: meta.startedAt, sizeBytes };
  }

  /**
   * Appends a request body as a new part at the upload's current size. `expectedStart` (from
   * Content-Range) must equal that size. Returns the new size.
   */
  async append(upload: UploadInfo, source: Readable, expectedStart?: number): Promise<number> {
    const dir = this.sessionDir(upload.uuid);
    const current = (await this.info(upload.uuid))?.sizeBytes;
    if (!dir || current === undefined) throw blobUploadUnknown(upload.uuid);
    if (expectedStart !== undefined && expectedStart !== current) throw rangeMismatch(expectedStart, current);
    const parts = (await readdir(dir).catch(() => [] as string[])).filter((name) => PART_PATTERN.test(name)).length;
    if (parts >= MAX_UPLOAD_PARTS) {
      throw blobUploadInvalid(`the upload has ${parts} parts, the most one may have; push it again in larger chunks`, {
        range: `0-${Math.max(current - 1, 0)}`,
      });
    }
    const state = this.claim(upload.uuid);
    try {
      const path = join(dir, partName(current));
      const handle = await open(path, "wx", 0o600).catch(async (error: unknown) => {
        // Another request (on another replica) wrote at this offset first: the client is told the size now.
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw rangeMismatch(current, (await this.info(upload.uuid))?.sizeBytes ?? current);
        if (isMissing(error)) throw blobUploadUnknown(upload.uuid);
        throw error;
      });
      const hash = createHash("sha256");
      let written = 0;
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          written += chunk.length;
          done(null, chunk);
        },
      });
      try {
        await pipeline(source, hashing, handle.createWriteStream({ highWaterMark: 1024 * 1024 }));
      } catch (error) {
        // The bytes on disk stay as progress (GET tells the client where to resume); an empty part would only block its offset.
        if (written === 0) await rm(path, { force: true });
        throw error;
      }
      if (written === 0) await rm(path, { force: true });
      else if (current === 0) state.firstPart = { sizeBytes: written, sha256: hash.digest("hex") };
      return current + written;
    } finally {
      state.busy = false;
    }
  }

  /**
   * The upload's bytes as a verified candidate for `digest`; a digest that does not match cancels
   * the upload and is refused with DIGEST_INVALID.
   */
  async verifiedCandidate(upload: UploadInfo, digest: { algorithm: string; hex: string }): Promise<VerifiedCandidate> {
    const dir = this.sessionDir(upload.uuid);
    if (!dir) throw blobUploadUnknown(upload.uuid);
    const state = this.claim(upload.uuid);
    let candidate: { path: string; sizeBytes: number; hex: string };
    try {
      candidate = await this.candidate(dir, state, digest.algorithm);
    } catch (error) {
      throw isMissing(error) ? blobUploadUnknown(upload.uuid) : error;
    } finally {
      state.busy = false;
    }
    if (candidate.hex !== digest.hex) {
      await this.remove(upload.uuid);
      throw digestInvalid("provided digest did not match uploaded content", {
        expected: `${digest.algorithm}:${digest.hex}`,
        actual: `${digest.algorithm}:${candidate.hex}`,
      });
    }
    return { path: candidate.path, sizeBytes: candidate.sizeBytes };
  }

  private async candidate(dir: string, state: SessionState, algorithm: string): Promise<{ path: string; sizeBytes: number; hex: string }> {
    const { pieces, sizeBytes } = contiguous(await this.parts(dir));
    const only = pieces.length === 1 ? pieces[0]! : undefined;
    // The common push (one PATCH, or a monolithic POST, then PUT on this replica): the one part is
    // this process's, closed, and already hashed while it streamed in. No copy.
    if (only && only.from === 0 && state.firstPart?.sizeBytes === only.to) {
      const hex = algorithm === "sha256" ? state.firstPart.sha256 : await hashRange(only, algorithm);
      await fsyncPath(only.path);
      return { path: only.path, sizeBytes, hex };
    }
    const path = join(dir, `assembled.${randomUUID()}`);
    const hex = await assemble(pieces, path, algorithm);
    return { path, sizeBytes, hex };
  }

  /** Removes a session (finished, cancelled, refused or abandoned). */
  async remove(uuid: string): Promise<void> {
    this.states.delete(uuid);
    const dir = this.sessionDir(uuid);
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  /**
   * Removes sessions nothing has touched for `maxAgeMs` (abandoned pushes; a part being written
   * keeps its session fresh, on whichever replica writes it) and anything else in the uploads dir
   * that old (files of an older layout, strays).
   */
  async sweep(maxAgeMs: number): Promise<number> {
    const cutoff = this.now() - maxAgeMs;
    let removed = 0;
    const present = new Set<string>();
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      present.add(name);
      if (this.states.get(name)?.busy) continue;
      const path = join(this.dir, name);
      if ((await lastTouched(path)) >= cutoff) continue;
      await rm(path, { recursive: true, force: true });
      this.states.delete(name);
      removed++;
    }
    for (const uuid of this.states.keys()) if (!present.has(uuid)) this.states.delete(uuid);
    return removed;
  }

  /** The parts of a session, by start offset. */
  private async parts(dir: string): Promise<{ path: string; start: number; sizeBytes: number }[]> {
    const parts: { path: string; start: number; sizeBytes: number }[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const match = PART_PATTERN.exec(name);
      if (!match) continue;
      const sizeBytes = await freshSize(join(dir, name));
      if (sizeBytes !== undefined) parts.push({ path: join(dir, name), start: Number(match[1]), sizeBytes });
    }
    return parts.sort((a, b) => a.start - b.start);
  }

  private state(uuid: string): SessionState {
    let state = this.states.get(uuid);
    if (!state) {
      if (this.states.size >= MAX_SESSION_STATES) this.forgetIdle();
      state = { busy: false, firstPart: undefined };
      this.states.set(uuid, state);
    }
    return state;
  }

  /** Marks the session busy in this process; one request at a time per session here. */
  private claim(uuid: string): SessionState {
    const state = this.state(uuid);
    if (state.busy) throw blobUploadInvalid("another request is writing to this upload", {}, 409);
    state.busy = true;
    return state;
  }

  private forgetIdle(): void {
    for (const [uuid, state] of this.states) {
      if (this.states.size < MAX_SESSION_STATES / 2) return;
      if (!state.busy) this.states.delete(uuid);
    }
  }
}

function rangeMismatch(start: number, size: number): Error {
  return blobUploadInvalid(`range start ${start} does not match the upload's size ${size}`, { range: size > 0 ? `0-${size - 1}` : "0-0" }, 416);
}

/**
 * The bytes of an upload: its parts from offset 0 for as long as they are contiguous. Parts written
 * at once at overlapping offsets (a client misusing the session) count once, first come first.
 */
function contiguous(parts: readonly { path: string; start: number; sizeBytes: number }[]): { pieces: Piece[]; sizeBytes: number } {
  const pieces: Piece[] = [];
  let sizeBytes = 0;
  for (const part of parts) {
    if (part.start > sizeBytes) break;
    const end = part.start + part.sizeBytes;
    if (end <= sizeBytes) continue;
    pieces.push({ path: part.path, from: sizeBytes - part.start, to: part.sizeBytes });
    sizeBytes = end;
  }
  return { pieces, sizeBytes };
}

/** Copies the pieces into a new file at `target` while hashing what is written; fsyncs it. Returns the hash (hex). */
async function assemble(pieces: readonly Piece[], target: string, algorithm: string): Promise<string> {
  const hash: Hash = createHash(algorithm);
  const handle = await open(target, "wx", 0o600);
  try {
    for (const piece of pieces) {
      if (piece.to <= piece.from) continue;
      for await (const chunk of createReadStream(piece.path, { start: piece.from, end: piece.to - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        await handle.write(chunk);
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

async function hashRange(piece: Piece, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  if (piece.to > piece.from) {
    for await (const chunk of createReadStream(piece.path, { start: piece.from, end: piece.to - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>)
      hash.update(chunk);
  }
  return hash.digest("hex");
}

/**
 * A file's size as the file server has it: opened, then stat'ed. On NFS a plain stat() may answer
 * from the attribute cache (seconds old), and another replica's part would look shorter than it
 * is; an open revalidates (close-to-open consistency, NFS's default: do not mount with nocto).
 */
async function freshSize(path: string): Promise<number | undefined> {
  const handle = await open(path, "r").catch(() => undefined);
  if (!handle) return undefined;
  try {
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}

/** The newest mtime of a path and, for a directory, of what is directly in it. */
async function lastTouched(path: string): Promise<number> {
  const stats = await stat(path).catch(() => undefined);
  if (!stats) return Number.POSITIVE_INFINITY; // gone already: nothing to remove
  let newest = stats.mtimeMs;
  if (stats.isDirectory()) {
    for (const name of await readdir(path).catch(() => [] as string[])) {
      newest = Math.max(
        newest,
        await stat(join(path, name)).then(
          (entry) => entry.mtimeMs,
          () => 0,
        ),
      );
    }
  }
  return newest;
}
