/**
 * Which log files a valid digest listed with a matching hash: one object per day folder of the trail
 * (`verified/<bucket>/<day folder>files.json`, each log file's name mapped to the digest that listed it).
 *
 * verify adds a digest's files with one conditional write per day folder (a digest lists the files of one
 * account-region and hour, so usually one folder), where an object per file cost a PUT per log file: at an
 * organization's rate of files, more than everything ingest spends. The watchdog reads one object per
 * account-region and day to find the log files no digest lists (a GET, where a listing was a LIST), and
 * ingest reads it to apply a file as verified when verify listed it first (a digest racing its log file's
 * event).
 */
import { DigestError } from '#shared/digest/errors.ts';
import { ObjectNotFoundError, type ObjectStore, PreconditionFailedError } from '#shared/ports.ts';

const SCHEMA = 'trailwatch.verified-files/1';
const MAX_ATTEMPTS = 8;

interface VerifiedFolder {
  schema: string;
  /** Log file name (the key's last part) -> the digest that listed it. */
  files: Record<string, string>;
}

const folderOf = (key: string) => key.slice(0, key.lastIndexOf('/') + 1);
const nameOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);

/** The object of the day folder `folder` (a trail key prefix ending in `/`) of `bucket`. */
export function verifiedFolderKey(bucket: string, folder: string): string {
  return `verified/${bucket}/${folder}files.json`;
}

async function load(
  state: ObjectStore,
  key: string,
): Promise<{ folder: VerifiedFolder; etag?: string } | undefined> {
  let body: Buffer;
  let etag: string | undefined;
  try {
    const obj = await state.get(key);
    const chunks: Uint8Array[] = [];
    for await (const c of obj.body) chunks.push(c);
    body = Buffer.concat(chunks);
    etag = obj.etag;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(body.toString('utf8')) as VerifiedFolder;
    if (parsed?.schema === SCHEMA && typeof parsed.files === 'object' && parsed.files !== null) {
      return { folder: parsed, ...(etag ? { etag } : {}) };
    }
  } catch {
    // rewritten below
  }
  // Only verify writes here; an object it cannot read is rewritten from what verify lists next.
  return { folder: { schema: SCHEMA, files: {} }, ...(etag ? { etag } : {}) };
}

/** The names of the files of one day folder that valid digests listed. */
export async function verifiedIn(state: ObjectStore, bucket: string, folder: string): Promise<Set<string>> {
  const found = await load(state, verifiedFolderKey(bucket, folder));
  return new Set(Object.keys(found?.folder.files ?? {}));
}

/** Whether a valid digest listed this log file (`key` in `bucket`). */
export async function isVerified(state: ObjectStore, bucket: string, key: string): Promise<boolean> {
  return (await verifiedIn(state, bucket, folderOf(key))).has(nameOf(key));
}

/** Records that `digest` listed these log files of `bucket`: one conditional write per day folder. */
export async function markVerified(
  state: ObjectStore,
  bucket: string,
  digest: string,
  keys: string[],
): Promise<void> {
  const byFolder = new Map<string, string[]>();
  for (const k of keys) byFolder.set(folderOf(k), [...(byFolder.get(folderOf(k)) ?? []), nameOf(k)]);
  for (const [folder, names] of byFolder) {
    const key = verifiedFolderKey(bucket, folder);
    for (let attempt = 1; ; attempt++) {
      const found = await load(state, key);
      const current = found?.folder ?? { schema: SCHEMA, files: {} };
      if (names.every((n) => current.files[n] !== undefined)) break;
      for (const n of names) current.files[n] ??= digest;
      try {
        await state.put(key, JSON.stringify(current), {
          ...(found?.etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: found.etag }),
          contentType: 'application/json',
        });
        break;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        if (attempt >= MAX_ATTEMPTS) {
          throw new DigestError(`${key}: still changing after ${attempt} attempts`, { cause: err });
        }
      }
    }
  }
}
