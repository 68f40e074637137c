/**
 * How CloudTrail hands events over: per account and region a log file about every 5 minutes, holding
 * the events of roughly the 5-15 minutes before, in no particular order, gzip'd compact JSON, named
 * after its delivery time. A delivery with no events writes nothing, as CloudTrail does.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { sha256Hex } from '#shared/digest/digest-format.ts';
import { logFileKey } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import type { Rng } from './random.ts';
import { serializeRecord } from './record-builder.ts';

const gzip = promisify(gzipCallback);

export const DELIVERY_INTERVAL_MS = 300_000;
/** Fixed so that the bytes of a file never depend on zlib's defaults. */
export const GZIP_LEVEL = 6;
/** Files compressed at once: zlib runs on the thread pool while the next minutes are generated. */
const IN_FLIGHT = 16;

export interface LogFileInfo {
  key: string;
  deliveredMs: number;
  records: number;
  sha256: string;
  oldestEventTime: string;
  newestEventTime: string;
  bytes: number;
  compressedBytes: number;
}

interface Pending {
  /** Each record's JSON text. */
  records: string[];
  oldest: string;
  newest: string;
}

export interface DeliveryTarget {
  store: ObjectStore;
  prefix?: string;
  orgId?: string;
  account: string;
  region: string;
}

export class LogDelivery {
  private readonly target: DeliveryTarget;
  private readonly rng: Rng;
  private readonly times: number[] = [];
  private readonly first: number;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private readonly inFlight: Promise<LogFileInfo>[] = [];
  private readonly done: LogFileInfo[] = [];

  /**
   * Deliveries from a random phase after `startMs` until well after `endMs`, each a little early or late;
   * none while the trail is stopped (`pauses`): what was pending then comes with the first delivery after.
   */
  constructor(
    target: DeliveryTarget,
    rng: Rng,
    startMs: number,
    endMs: number,
    pauses: readonly { from: number; to: number }[] = [],
  ) {
    this.target = target;
    this.rng = rng;
    this.first = startMs + rng.int(300) * 1000;
    for (let t = this.first; t < endMs + 45 * 60_000; t += DELIVERY_INTERVAL_MS) {
      const at = t + (rng.int(81) - 40) * 1000;
      if (!pauses.some((p) => at >= p.from && at < p.to)) this.times.push(at);
    }
  }

  add(record: CloudTrailRecord, eventMs: number, lagMs: number): void {
    const due = eventMs + lagMs;
    // The first delivery at or after `due`: near where the regular schedule puts it (a pause removed some).
    let k = Math.min(
      Math.max(0, Math.floor((due - this.first - 40_000) / DELIVERY_INTERVAL_MS)),
      this.times.length - 1,
    );
    while (k > 0 && this.times[k - 1] >= due) k--;
    while (k < this.times.length && this.times[k] < due) k++;
    if (k >= this.times.length) k = this.times.length - 1;
    let p = this.pending.get(k);
    const time = record.eventTime as string;
    if (!p) {
      p = { records: [], oldest: time, newest: time };
      this.pending.set(k, p);
    }
    p.records.push(serializeRecord(record));
    if (time < p.oldest) p.oldest = time;
    if (time > p.newest) p.newest = time;
  }

  /** Writes every delivery due before `ms`: no event added from then on can belong to them. */
  async flushBefore(ms: number): Promise<void> {
    while (this.next < this.times.length && this.times[this.next] < ms) {
      await this.deliver(this.next++);
    }
  }

  /** Writes the remaining deliveries and returns every file written, in delivery order. */
  async finish(): Promise<LogFileInfo[]> {
    while (this.next < this.times.length) await this.deliver(this.next++);
    while (this.inFlight.length > 0) this.done.push(await this.inFlight.shift()!);
    return this.done;
  }

  private async deliver(k: number): Promise<void> {
    const p = this.pending.get(k);
    if (!p) return;
    this.pending.delete(k);
    const deliveredMs = this.times[k];
    const t = this.target;
    const key = logFileKey({
      prefix: t.prefix,
      orgId: t.orgId,
      account: t.account,
      region: t.region,
      time: new Date(deliveredMs),
      unique: this.rng.alnum(16),
    });
    this.rng.shuffle(p.records);
    const body = Buffer.from(`{"Records":[${p.records.join(',')}]}`);
    const task = (async (): Promise<LogFileInfo> => {
      const compressed = await gzip(body, { level: GZIP_LEVEL });
      await t.store.put(key, compressed);
      return {
        key,
        deliveredMs,
        records: p.records.length,
        sha256: sha256Hex(body),
        oldestEventTime: p.oldest,
        newestEventTime: p.newest,
        bytes: body.length,
        compressedBytes: compressed.length,
      };
    })();
    // Handled here so that a failure surfaces once, when the task is awaited in order.
    task.catch(() => undefined);
    this.inFlight.push(task);
    if (this.inFlight.length >= IN_FLIGHT) this.done.push(await this.inFlight.shift()!);
  }
}
