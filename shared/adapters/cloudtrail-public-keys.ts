/**
 * CloudTrail's public keys from its ListPublicKeys API, in the region that delivered the digests
 * (endpoint and credentials from the SDK's own configuration, e.g. `AWS_ENDPOINT_URL_CLOUDTRAIL`).
 * Pages are followed; answers are cached for the life of the process (a Lambda container verifies many
 * digests with the same few keys), per region and per whole UTC days.
 */
import { CloudTrailClient, paginateListPublicKeys } from '@aws-sdk/client-cloudtrail';
import { DigestError } from '#shared/digest/errors.ts';
import type { PublicKeyRecord, PublicKeySource } from '#shared/digest/public-keys.ts';

const DAY_MS = 86_400_000;

interface Window {
  from: number;
  to: number;
  keys: Promise<PublicKeyRecord[]>;
}

/** One CloudTrail client per region, made on first use: the API answers about a trail in its home region. */
export function cloudTrailClients(): (region: string) => CloudTrailClient {
  const clients = new Map<string, CloudTrailClient>();
  return (region) => {
    let c = clients.get(region);
    if (!c) {
      c = new CloudTrailClient({ region });
      clients.set(region, c);
    }
    return c;
  };
}

export class CloudTrailPublicKeySource implements PublicKeySource {
  private readonly clientFor: (region: string) => CloudTrailClient;
  private readonly windows = new Map<string, Window[]>();

  constructor(options: { clientFor?: (region: string) => CloudTrailClient } = {}) {
    this.clientFor = options.clientFor ?? cloudTrailClients();
  }

  async publicKeys(region: string, start: Date, end: Date): Promise<PublicKeyRecord[]> {
    const s = start.getTime();
    const e = end.getTime();
    const list = this.windows.get(region) ?? [];
    this.windows.set(region, list);
    let w = list.find((x) => x.from <= s && e <= x.to);
    if (!w) {
      // Whole days, so that the many digests of a day share one call.
      const from = Math.floor(s / DAY_MS) * DAY_MS;
      const to = Math.ceil((e + 1) / DAY_MS) * DAY_MS;
      const window: Window = { from, to, keys: this.fetch(region, new Date(from), new Date(to)) };
      w = window;
      list.push(window);
      window.keys.catch(() => {
        // A failed call is not cached: the next digest asks again.
        list.splice(list.indexOf(window), 1);
      });
    }
    const keys = await w.keys;
    return keys.filter((k) => k.validityStart.getTime() <= e && s <= k.validityEnd.getTime());
  }

  private async fetch(region: string, start: Date, end: Date): Promise<PublicKeyRecord[]> {
    const out: PublicKeyRecord[] = [];
    try {
      for await (const page of paginateListPublicKeys(
        { client: this.clientFor(region) },
        { StartTime: start, EndTime: end },
      )) {
        for (const k of page.PublicKeyList ?? []) {
          if (!k.Value || !k.Fingerprint || !k.ValidityStartTime || !k.ValidityEndTime) continue;
          out.push({
            fingerprint: k.Fingerprint,
            value: k.Value,
            validityStart: k.ValidityStartTime,
            validityEnd: k.ValidityEndTime,
          });
        }
      }
    } catch (err) {
      throw new DigestError(
        `ListPublicKeys in ${region} for ${start.toISOString()} to ${end.toISOString()} failed: ${(err as Error)?.message}`,
        { cause: err },
      );
    }
    return out;
  }
}

let shared: CloudTrailPublicKeySource | undefined;
/** One source per process, so its cache serves every caller. */
export function cloudTrailPublicKeys(): CloudTrailPublicKeySource {
  shared ??= new CloudTrailPublicKeySource();
  return shared;
}
