/**
 * A small pool of worker threads that read log files for a lookup, so that gunzip and JSON parsing run on
 * every core. The main thread fetches each file's (compressed) bytes from the store, which works the same
 * for a folder and a bucket, and hands them over without a copy; a worker answers with the matches only.
 *
 * The worker's code: `read-worker.ts` beside this file when run from source, `lookup-worker.js` beside the
 * bundle's chunk in dist/ (cli/build.ts builds it as an entry of its own).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ScanStats } from '#shared/logfile/read.ts';
import type { LookupFilter } from './filter.ts';
import type { FileMatches, MatchOptions } from './match-file.ts';

declare const TRAILWATCH_BUNDLED: boolean | undefined;

export interface ReadRequest {
  id: number;
  bytes: ArrayBuffer;
  filter: LookupFilter;
  options: MatchOptions;
}

export type ReadReply =
  | ({ id: number } & FileMatches)
  | { id: number; error: { name: string; message: string }; scan?: ScanStats };

/**
 * Threads a lookup starts by default: one per core but the main thread's, which reads files too whenever the
 * threads' queues are full; at least one, at most four (more rarely pays for itself). On two cores, a second
 * thread cost a full scan a third more CPU time for no gain in time (the two cores were then shared by three
 * busy threads).
 */
export const DEFAULT_WORKERS = Math.min(4, Math.max(1, availableParallelism() - 1));

/** Files larger than this (compressed) are read as a stream in the main thread, not held whole. */
export const WORKER_MAX_BYTES = 64 << 20;

function workerUrl(): URL {
  return typeof TRAILWATCH_BUNDLED === 'boolean'
    ? new URL('./lookup-worker.js', import.meta.url)
    : new URL('./read-worker.ts', import.meta.url);
}

/** A file the worker could not read; `name` is the error class the reader threw there. */
export class WorkerReadError extends Error {
  readonly errorName: string;
  constructor(name: string, message: string) {
    super(message);
    this.name = 'WorkerReadError';
    this.errorName = name;
  }
}

interface Slot {
  worker: Worker;
  /** Files sent and not answered yet. */
  inFlight: number;
}

/**
 * Files a worker may hold at once: the next waits in its queue while it reads one, so that it does not sit idle
 * while its answer goes to the main thread and the next file comes back (on a busy machine, a thread takes
 * a while to be woken, and files are read in about a millisecond).
 */
export const WORKER_QUEUE = 3;

export class ReadPool {
  private readonly slots: Slot[] = [];
  private readonly size: number;
  private readonly pending = new Map<
    number,
    { resolve: (r: FileMatches) => void; reject: (e: Error) => void }
  >();
  private readonly waiting: (() => void)[] = [];
  private nextId = 0;
  private failure: Error | undefined;

  constructor(size: number = DEFAULT_WORKERS) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`expected a pool size >= 1, found ${size}`);
    this.size = size;
  }

  private start(): Slot {
    const worker = new Worker(workerUrl());
    const slot: Slot = { worker, inFlight: 0 };
    worker.on('message', (reply: ReadReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      slot.inFlight--;
      this.waiting.shift()?.();
      if (!p) return;
      if ('error' in reply) p.reject(new WorkerReadError(reply.error.name, reply.error.message));
      else
        p.resolve({
          matches: reply.matches,
          scan: reply.scan,
          ...(reply.lines ? { lines: reply.lines } : {}),
        });
    });
    // A worker that dies takes its file with it: every pending read fails, so nothing is silently lost.
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`a lookup worker thread exited with code ${code}`));
    });
    this.slots.push(slot);
    return slot;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const w of this.waiting.splice(0)) w();
  }

  /** Starts the threads now, so that they are ready when the first file comes. */
  warm(): void {
    while (!this.failure && this.slots.length < this.size) this.start();
  }

  /**
   * Whether every thread (started or still to start) holds its full queue: a file given now would wait, and
   * the caller can better read it itself.
   */
  full(): boolean {
    if (this.failure || this.slots.length < this.size) return false;
    return this.slots.every((s) => s.inFlight >= WORKER_QUEUE);
  }

  /** The matches of one file's bytes; the bytes' buffer is transferred (unusable afterwards). */
  async read(bytes: Uint8Array, filter: LookupFilter, options: MatchOptions): Promise<FileMatches> {
    for (;;) {
      if (this.failure) throw this.failure;
      // The least loaded thread, or a new one while one is idle-less.
      let free: Slot | undefined;
      for (const s of this.slots)
        if (s.inFlight < WORKER_QUEUE && (!free || s.inFlight < free.inFlight)) free = s;
      if ((!free || free.inFlight > 0) && this.slots.length < this.size) free = this.start();
      if (free) {
        free.inFlight++;
        const id = this.nextId++;
        const buffer =
          bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
            ? (bytes.buffer as ArrayBuffer)
            : (bytes.slice().buffer as ArrayBuffer);
        const req: ReadRequest = { id, bytes: buffer, filter, options };
        return new Promise<FileMatches>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          try {
            free.worker.postMessage(req, [buffer]);
          } catch (err) {
            // Not sent: the thread is free again and the read fails like any other.
            this.pending.delete(id);
            free.inFlight--;
            this.waiting.shift()?.();
            reject(err as Error);
          }
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
