/**
 * Fault injection around the ports, and a stand-in for Lambda's asynchronous invocation (two retries, then
 * the on-failure destination), so tests can show that nothing is lost when AWS misbehaves.
 */
import type { Context } from 'aws-lambda';
import { lambdaContext } from '#cli/replay/events.ts';
import type { Notification, Notifier, ObjectStore, StoredObject } from '#shared/ports.ts';

/** A store whose `get` bodies fail after `afterBytes` for the first `times` reads. */
export function failingReads(
  store: ObjectStore,
  times: number,
  afterBytes: number,
): ObjectStore & { failures: number } {
  let left = times;
  const wrapped = Object.create(store) as ObjectStore & { failures: number };
  wrapped.failures = 0;
  wrapped.get = async (key: string): Promise<StoredObject> => {
    const obj = await store.get(key);
    if (left <= 0) return obj;
    left--;
    wrapped.failures++;
    const body = obj.body;
    return {
      ...obj,
      body: (async function* () {
        let seen = 0;
        for await (const chunk of body) {
          if (seen + chunk.length > afterBytes) {
            yield chunk.subarray(0, Math.max(0, afterBytes - seen));
            const err = new Error('socket hang up: connection reset by peer') as NodeJS.ErrnoException;
            err.code = 'ECONNRESET';
            throw err;
          }
          seen += chunk.length;
          yield chunk;
        }
      })(),
    };
  };
  return wrapped;
}

/** A store whose writes under `prefix` fail the first `times` times (a crash before the commit). */
export function failingWrites(store: ObjectStore, prefix: string, times: number): ObjectStore {
  let left = times;
  const wrapped = Object.create(store) as ObjectStore;
  wrapped.put = async (key, body, options) => {
    if (key.startsWith(prefix) && left > 0) {
      left--;
      throw new Error(`injected crash before writing ${key}`);
    }
    return store.put(key, body, options);
  };
  return wrapped;
}

/** A notifier that fails the first `times` publishes, then delivers to `inner`. */
export class FlakyNotifier implements Notifier {
  private left: number;
  private readonly inner: Notifier;
  attempts = 0;

  constructor(inner: Notifier, times: number) {
    this.inner = inner;
    this.left = times;
  }

  async publish(n: Notification): Promise<void> {
    this.attempts++;
    if (this.left > 0) {
      this.left--;
      throw new Error('SNS Publish failed: ServiceUnavailable (injected)');
    }
    await this.inner.publish(n);
  }
}

/** Lambda's asynchronous invocation: the first try and two retries, then the event goes to the dead letters. */
export async function invokeAsync<E>(
  handler: (event: E, context: Context) => Promise<unknown>,
  event: E,
  deadLetters: E[],
  retries = 2,
): Promise<'ok' | 'dead-lettered'> {
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      await handler(event, lambdaContext('trailwatch-ingest'));
      return 'ok';
    } catch {
      // retried like Lambda does
    }
  }
  deadLetters.push(event);
  return 'dead-lettered';
}

export type FaultKind = 's3-read' | 's3-write' | 'sns-publish';

/**
 * One injected fault: the `at`-th call (from 1) of one kind fails, every other call succeeds. Without a kind,
 * nothing fails and the plan only counts the calls of each kind (the steps a fault can be moved over).
 */
export class FaultPlan {
  readonly counts: Record<FaultKind, number> = { 's3-read': 0, 's3-write': 0, 'sns-publish': 0 };
  fired = false;
  readonly kind?: FaultKind;
  readonly at?: number;
  constructor(kind?: FaultKind, at?: number) {
    this.kind = kind;
    this.at = at;
  }

  /** Counts a call; throws when it is the one to fail. */
  step(kind: FaultKind, what: string): void {
    this.counts[kind]++;
    if (kind === this.kind && this.counts[kind] === this.at) {
      this.fired = true;
      throw new Error(`injected ${kind} failure at step ${this.at} (${what})`);
    }
  }
}

/** `store` with its reads (get, head, list) and writes (put, delete) going through the plan. */
export function faultyStore(store: ObjectStore, plan: FaultPlan): ObjectStore {
  const wrapped = Object.create(store) as ObjectStore;
  wrapped.get = async (key, options) => {
    plan.step('s3-read', `GET ${key}`);
    return store.get(key, options);
  };
  wrapped.head = async (key) => {
    plan.step('s3-read', `HEAD ${key}`);
    return store.head(key);
  };
  wrapped.list = (prefix, options) => {
    plan.step('s3-read', `LIST ${prefix}`);
    return store.list(prefix, options);
  };
  wrapped.listFolders = async (prefix) => {
    plan.step('s3-read', `LIST ${prefix}/`);
    return store.listFolders(prefix);
  };
  wrapped.put = async (key, body, options) => {
    plan.step('s3-write', `PUT ${key}`);
    return store.put(key, body, options);
  };
  wrapped.delete = async (key) => {
    plan.step('s3-write', `DELETE ${key}`);
    return store.delete(key);
  };
  return wrapped;
}

export function faultyNotifier(inner: Notifier, plan: FaultPlan): Notifier {
  return {
    async publish(n) {
      plan.step('sns-publish', n.subject);
      await inner.publish(n);
    },
  };
}
