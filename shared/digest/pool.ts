/** At most `size` tasks at a time, started in the order they were submitted. */
export class Pool {
  readonly size: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`expected a pool size >= 1, found ${size}`);
    this.size = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * A queue of results consumed in order while producers run ahead, at most `capacity` entries ahead, so
 * that a long walk never holds more than that many pending verdicts.
 */
export class OrderedChannel<T> {
  private readonly capacity: number;
  private readonly items: Promise<T>[] = [];
  private closed = false;
  private failure: { error: unknown } | undefined;
  private wakeConsumer: (() => void) | undefined;
  private readonly wakeProducers: (() => void)[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  async push(item: Promise<T>): Promise<void> {
    // Rejections surface when the consumer reaches the item, not as unhandled ones meanwhile.
    item.catch(() => undefined);
    while (this.items.length >= this.capacity && !this.closed) {
      await new Promise<void>((resolve) => this.wakeProducers.push(resolve));
    }
    this.items.push(item);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.close();
  }

  private wake(): void {
    const w = this.wakeConsumer;
    this.wakeConsumer = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        if (this.items.length > 0) {
          const item = this.items.shift()!;
          this.wakeProducers.shift()?.();
          yield await item;
          continue;
        }
        if (this.failure) throw this.failure.error;
        if (this.closed) return;
        await new Promise<void>((resolve) => {
          this.wakeConsumer = resolve;
        });
      }
    } finally {
      // A consumer that stops early releases producers waiting for room.
      this.closed = true;
      for (const w of this.wakeProducers.splice(0)) w();
    }
  }
}
