/**
 * Replay's {@link EvaluationOffload}: one worker thread evaluates the rules and summary of large files while
 * the main thread reads, decompresses, hashes and parses them and builds their index, so that a large file
 * uses two cores. Ordering is what keeps the result the same as one thread's: a file's records go to one
 * thread, in order, and the rules and summary see them as ingest does. Small files stay in the main thread.
 *
 * The worker's code: `evaluation-worker.ts` beside this file when run from source, `replay-worker.js` beside
 * the bundle's chunk in dist/ (cli/build.ts builds it as an entry of its own).
 */
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RecordRunsWriter } from '#shared/logfile/scanner.ts';
import {
  type EvaluatedLogFile,
  type EvaluationOffload,
  type EvaluationSession,
  type EvaluationSetup,
  type FileFacts,
  OffloadError,
} from '#shared/pipeline/log-file-evaluation.ts';
import type { RuleException } from '#shared/rules/exceptions.ts';
import type { Rule } from '#shared/rules/rule-types.ts';

declare const TRAILWATCH_BUNDLED: boolean | undefined;

export type EvaluationRequest =
  | {
      type: 'open';
      id: number;
      setup: {
        deliveredAt: Date;
        eventTimes?: { from: number; to: number };
        exceptions?: readonly RuleException[];
      };
    }
  /** `length` bytes of `bytes` hold the records. */
  | { type: 'runs'; id: number; bytes: ArrayBuffer; length: number; spans: Int32Array }
  | { type: 'finish'; id: number; facts: FileFacts }
  | { type: 'abort'; id: number };

export type EvaluationReply =
  /** A batch evaluated: its buffer comes back for the next batches. */
  | { type: 'ack'; id: number; bytes: ArrayBuffer }
  | { type: 'done'; id: number; result: EvaluatedLogFile }
  | { type: 'error'; id: number; error: { name: string; message: string } };

/**
 * Files smaller than this (compressed) are evaluated in the reading thread: their records take a fraction of a
 * second, about what starting the thread costs (it loads and compiles every rule again) with the second parse
 * and the hand-over. CloudTrail's own files (what ingest in Lambda sees) are far below it.
 */
export const OFFLOAD_MIN_BYTES = 4 << 20;

/**
 * Bytes of records handed over at once: each message costs both threads a wake-up, so a few large ones rather
 * than one per decompressed chunk (a few hundred KiB).
 */
export const BATCH_BYTES = 2 << 20;

/**
 * Batches sent and not yet evaluated, per file: enough that the worker never waits for the reader, few enough
 * that memory stays a few batches however large the file.
 */
export const IN_FLIGHT = 2;

/**
 * Whether a core is free for the thread now: the reading thread keeps one busy, the load average counts the
 * others'. On a machine whose cores are all taken, a second thread only adds its start-up and the hand-over
 * (on 2 busy cores, 7.4-9.7 s against 6.3-8.2 s in one thread for a 200 MB file, and 1 s more CPU).
 */
export function coreIsFree(): boolean {
  const cores = availableParallelism();
  return cores > 1 && loadavg()[0] <= cores - 1;
}

function workerUrl(): URL {
  return typeof TRAILWATCH_BUNDLED === 'boolean'
    ? new URL('./replay-worker.js', import.meta.url)
    : new URL('./evaluation-worker.ts', import.meta.url);
}

/** The evaluation thread threw; `errorName` is the error class it threw there. */
export class EvaluationThreadError extends OffloadError {
  readonly errorName: string;
  constructor(name: string, message: string) {
    super(`the replay evaluation thread failed: ${name}: ${message}`);
    this.errorName = name;
  }
}

interface Pending {
  runs: RecordRunsWriter;
  inFlight: number;
  /** Pushes waiting for room. */
  waiting: (() => void)[];
  done?: { resolve: (r: EvaluatedLogFile) => void; reject: (e: Error) => void };
  failure?: Error;
}

export class EvaluationPool implements EvaluationOffload {
  private readonly rules: readonly Rule[];
  private readonly minBytes: number;
  private readonly batchBytes: number;
  private readonly when: () => boolean;
  private worker: Worker | undefined;
  private readonly files = new Map<number, Pending>();
  private nextId = 0;

  /**
   * `minBytes`: the smallest file (compressed) given to the thread; `batchBytes`: see {@link BATCH_BYTES};
   * `when`: asked for each large file, whether to use the thread for it (default: always).
   */
  constructor(
    rules: readonly Rule[],
    options: { minBytes?: number; batchBytes?: number; when?: () => boolean } = {},
  ) {
    this.rules = rules;
    this.minBytes = options.minBytes ?? OFFLOAD_MIN_BYTES;
    this.batchBytes = options.batchBytes ?? BATCH_BYTES;
    this.when = options.when ?? (() => true);
  }

  private start(): Worker {
    const worker = new Worker(workerUrl(), { workerData: { rules: this.rules } });
    worker.on('message', (r: EvaluationReply) => {
      const file = this.files.get(r.id);
      if (!file) return;
      if (r.type === 'ack') {
        file.runs.reuse(r.bytes);
        file.inFlight--;
        file.waiting.shift()?.();
      } else if (r.type === 'done') {
        this.release(r.id);
        file.done?.resolve(r.result);
      } else this.failFile(r.id, new EvaluationThreadError(r.error.name, r.error.message));
    });
    // A thread that dies takes its files with it: each fails, none is silently lost.
    worker.on('error', (err) =>
      this.failAll(new OffloadError(`the replay evaluation thread failed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', (code) => {
      this.worker = undefined;
      this.failAll(new OffloadError(`the replay evaluation thread exited with code ${code}`));
    });
    // Idle, it must not keep the process alive; `open` holds it while a file is in it.
    worker.unref();
    return worker;
  }

  open(size: number, rules: readonly Rule[], setup: EvaluationSetup): EvaluationSession | undefined {
    if (size < this.minBytes || rules !== this.rules || !this.when()) return undefined;
    this.worker ??= this.start();
    const worker = this.worker;
    if (this.files.size === 0) worker.ref();
    const id = this.nextId++;
    const file: Pending = {
      runs: new RecordRunsWriter(this.batchBytes + (1 << 20)),
      inFlight: 0,
      waiting: [],
    };
    this.files.set(id, file);
    const send = (req: EvaluationRequest, transfer?: ArrayBuffer[]) => {
      if (file.failure) throw file.failure;
      worker.postMessage(req, transfer);
    };
    send({
      type: 'open',
      id,
      setup: {
        deliveredAt: setup.deliveredAt,
        ...(setup.eventTimes ? { eventTimes: setup.eventTimes } : {}),
        ...(setup.exceptions ? { exceptions: setup.exceptions.list } : {}),
      },
    });
    const sendBatch = () => {
      file.inFlight++;
      const { bytes, spans } = file.runs.take();
      // The batch's own buffer moves to the thread (no copy); spans are small.
      const buffer = bytes.buffer as ArrayBuffer;
      send({ type: 'runs', id, bytes: buffer, length: bytes.byteLength, spans }, [buffer]);
    };
    return {
      runs: file.runs,
      flush: async () => {
        if (file.failure) throw file.failure;
        if (file.runs.size < this.batchBytes) return;
        sendBatch();
        if (file.inFlight >= IN_FLIGHT) await new Promise<void>((resolve) => file.waiting.push(resolve));
        if (file.failure) throw file.failure;
      },
      finish: (facts: FileFacts) =>
        new Promise<EvaluatedLogFile>((resolve, reject) => {
          if (file.failure) {
            reject(file.failure);
            return;
          }
          file.done = { resolve: (r) => resolve(this.rebind(r, setup)), reject };
          if (file.runs.size > 0) sendBatch();
          send({ type: 'finish', id, facts });
        }),
      abort: () => {
        if (!this.files.has(id)) return;
        this.release(id);
        if (!file.failure) worker.postMessage({ type: 'abort', id } satisfies EvaluationRequest);
      },
    };
  }

  /** Stops the thread (idle, it does not keep the process alive; a caller may still want it gone). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private release(id: number): void {
    this.files.delete(id);
    if (this.files.size === 0) this.worker?.unref();
  }

  private failFile(id: number, err: Error): void {
    const file = this.files.get(id);
    if (!file) return;
    this.release(id);
    file.failure = err;
    for (const w of file.waiting.splice(0)) w();
    file.done?.reject(err);
  }

  private failAll(err: Error): void {
    for (const id of [...this.files.keys()]) this.failFile(id, err);
  }

  /**
   * The thread's answer names rules and exceptions by copies: point them back at the objects the caller
   * holds, as the evaluation in one thread does.
   */
  private rebind(r: EvaluatedLogFile, setup: EvaluationSetup): EvaluatedLogFile {
    const rules = new Map(this.rules.map((rule) => [rule.id, rule]));
    const exceptions = new Map((setup.exceptions?.list ?? []).map((e) => [e.id, e]));
    const rule = (copy: Rule) => rules.get(copy.id) ?? copy;
    return {
      ...r,
      matches: r.matches.map((m) => ({ ...m, rule: rule(m.rule) })),
      ...(r.counts
        ? {
            counts: r.counts.map((c) => ({
              ...c,
              rule: rule(c.rule),
              groups: c.groups.map((g) => ({ ...g, matches: { ...g.matches, rule: rule(g.matches.rule) } })),
            })),
          }
        : {}),
      ...(r.suppressed
        ? {
            suppressed: r.suppressed.map((s) => ({
              ...s,
              rule: rule(s.rule),
              byException: s.byException.map((b) => ({
                ...b,
                exception: exceptions.get(b.exception.id) ?? b.exception,
              })),
            })),
          }
        : {}),
    };
  }
}
