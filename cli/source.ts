/**
 * `--source` arguments: a folder laid out like a bucket, or `s3://bucket[/prefix]`; and the checks every
 * command makes on them before it reads, so that a wrong path, an empty folder, a folder of something else,
 * an unreachable endpoint, a missing region or a refused permission each end in one line naming what to fix
 * (a {@link SourceError}), instead of a stack trace or a quiet "0 files".
 */
import {
  closeSync,
  type Dirent,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  type Stats,
  statSync,
} from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { CliError } from '#cli/errors.ts';
import type { PublicKeySource } from '#shared/digest/public-keys.ts';
import { classifyKey } from '#shared/keys.ts';
import type { ObjectInfo, ObjectStore, PutOptions, StoredObject } from '#shared/ports.ts';

/** A source that cannot be read as asked: the message names the path or bucket and what was expected. */
export class SourceError extends CliError {}

export interface Source {
  store: ObjectStore;
  bucket: string;
  prefix: string;
  /** The folder's absolute path, or the `s3://` argument. */
  description: string;
  s3: boolean;
}

/**
 * What must be at the source before the command reads it:
 * - `trail`: at least one CloudTrail log or digest file, by CloudTrail's key layout (lookup, replay, seed);
 * - `json`: at least one `*.json` or `*.json.gz` file, whatever its name (rules test);
 * - `folder`: the folder exists, contents checked by the command (insights report);
 * - `output`: nothing; a folder that does not exist yet is created on the first write (a state store).
 */
export type SourceExpectation = 'trail' | 'json' | 'folder' | 'output';

export interface OpenOptions {
  /** The option the argument came from, for messages (default `--source`). */
  flag?: string;
  /** For a folder: the bucket name it mirrors (see {@link openSource}). */
  bucket?: string;
  /** For S3: the region of the bucket; else AWS_REGION, else AWS_DEFAULT_REGION, else the AWS config file. */
  region?: string;
  /** Whether the command has a `--region` for the bucket, so that messages may suggest it (default true). */
  regionOption?: boolean;
  expect?: SourceExpectation;
}

const S3_RE = /^s3:\/\/([^/]+)\/?(.*)$/;
const REGION_RE = /^[a-z]{2,}(?:-[a-z0-9]+){1,4}$/;

/** The layout a trail's files follow, for messages. */
export const TRAIL_LAYOUT =
  '[prefix/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_ID.json.gz (or .json)';

/**
 * Opens a source and checks it holds what the command needs (`expect`, default `trail`).
 * For a folder, the bucket name events and verdicts use: `bucket` when given, else the one recorded by
 * `trailwatch generate` in its manifest, else the folder's name. Digests record the bucket they were written
 * to, so a wrong name would make every digest look moved.
 */
export async function openSource(arg: string, options: OpenOptions = {}): Promise<Source> {
  const flag = options.flag ?? '--source';
  const expect = options.expect ?? 'trail';
  const m = S3_RE.exec(arg);
  if (m) {
    const bucket = m[1];
    const prefix = m[2] && !m[2].endsWith('/') ? `${m[2]}/` : m[2];
    useRegion(options.region);
    const { S3ObjectStore, s3Client } = await import('#shared/adapters/s3-object-store.ts');
    const source: Source = {
      store: new CheckedS3Store(new S3ObjectStore(s3Client(), bucket), bucket, options.regionOption ?? true),
      bucket,
      prefix,
      description: arg,
      s3: true,
    };
    if (expect === 'trail' || expect === 'json') await requireFiles(source, flag, expect);
    return source;
  }
  if (arg.startsWith('s3:')) {
    throw new SourceError(`${flag} ${arg}: expected s3://bucket[/prefix] or a folder`);
  }
  const root = resolve(arg);
  checkFolder(root, flag, expect);
  const source: Source = {
    store: new FsObjectStore(root),
    bucket:
      options.bucket ||
      manifestBucket(root) ||
      (await digestBucket(new FsObjectStore(root))) ||
      basename(root) ||
      'local',
    prefix: '',
    description: root,
    s3: false,
  };
  if (expect === 'trail' || expect === 'json') await requireFiles(source, flag, expect);
  return source;
}

/**
 * `--region` is handed to the SDK through AWS_REGION, so every client the command makes (S3, and
 * CloudTrail for the public keys) uses it. AWS_DEFAULT_REGION is honoured as the AWS CLI honours it, which
 * the SDK alone does not.
 */
function useRegion(region: string | undefined): void {
  if (region !== undefined) {
    if (!REGION_RE.test(region)) {
      throw new SourceError(`--region: expected a region name such as us-east-1, found '${region}'`);
    }
    process.env.AWS_REGION = region;
  } else if (!process.env.AWS_REGION && process.env.AWS_DEFAULT_REGION) {
    process.env.AWS_REGION = process.env.AWS_DEFAULT_REGION;
  }
}

/**
 * The trail bucket a copied folder came from, as CloudTrail recorded it in the first digest found: log files
 * are then named s3://<trail bucket>/<key>, as the deployed functions name them, not after the folder.
 */
export async function digestBucket(store: ObjectStore): Promise<string | undefined> {
  for await (const o of store.list('')) {
    if (classifyKey(o.key).kind !== 'digest') continue;
    // Loaded only here: a folder with a manifest (or a bucket named by the command) needs no digest code.
    const { fetchDigest, parseJson } = await import('#shared/digest/verify-digest.ts');
    try {
      const d = await fetchDigest(store, '', o.key);
      if (!d.found || !d.gzip.ok) return undefined;
      const parsed = parseJson(d.bytes);
      const bucket = parsed.ok ? (parsed.value as { digestS3Bucket?: unknown }).digestS3Bucket : undefined;
      return typeof bucket === 'string' && bucket !== '' ? bucket : undefined;
    } catch {
      // An unreadable digest names no bucket; the folder's name stands in.
      return undefined;
    }
  }
  return undefined;
}

/** Bytes of a manifest read first: the scenario, which the generator writes first, takes a kilobyte or two. */
const MANIFEST_HEAD_BYTES = 16 << 10;

/** JSON's own whitespace (a byte-order mark is none: JSON.parse refuses a manifest that starts with one). */
const SCENARIO_START = /^[ \t\n\r]*\{[ \t\n\r]*"scenario"[ \t\n\r]*:[ \t\n\r]*\{/;

/** The text of the scenario object a manifest opens with, when `text` holds all of it; else undefined. */
function leadingScenario(text: string): string | undefined {
  const start = SCENARIO_START.exec(text);
  if (!start) return undefined;
  const from = start[0].length - 1;
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return text.slice(from, i + 1);
  }
  return undefined;
}

/**
 * The bucket `trailwatch generate` recorded in the folder's manifest. The manifest lists every delivery
 * (hundreds of kilobytes for a few days: several milliseconds of every command to read and parse): when its head
 * holds the whole scenario, which the generator writes first, that alone is parsed; any other layout is parsed
 * in full. Blocking reads: a local file, read before anything else can run.
 */
function manifestBucket(root: string): string | undefined {
  const path = join(root, 'trailwatch-manifest.json');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    // No manifest: not a generated trail.
    return undefined;
  }
  try {
    const head = Buffer.allocUnsafe(MANIFEST_HEAD_BYTES);
    const n = readSync(fd, head, 0, head.length, 0);
    const scenario = leadingScenario(head.toString('utf8', 0, n));
    const manifest = (
      scenario !== undefined ? { scenario: JSON.parse(scenario) } : JSON.parse(readFileSync(path, 'utf8'))
    ) as { scenario?: { bucket?: string } };
    return manifest.scenario?.bucket;
  } catch {
    // Unreadable or not JSON: no bucket from it.
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function expectedOf(expect: SourceExpectation): string {
  return expect === 'json'
    ? 'a folder of CloudTrail log files (*.json.gz, or *.json holding a Records array), or s3://bucket[/prefix]'
    : expect === 'output'
      ? 'a folder (created when missing), or s3://bucket[/prefix]'
      : expect === 'folder'
        ? 'a folder such as the --out of trailwatch replay, or s3://bucket[/prefix]'
        : 'a folder laid out like the trail bucket, or s3://bucket[/prefix]';
}

function checkFolder(root: string, flag: string, expect: SourceExpectation): void {
  let info: Stats;
  try {
    info = statSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && expect === 'output') return;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new SourceError(`${flag} ${root}: no such folder; expected ${expectedOf(expect)}`, {
        cause: err,
      });
    }
    throw new SourceError(`${flag} ${root}: cannot be read (${code ?? (err as Error).message})`, {
      cause: err,
    });
  }
  if (!info.isDirectory()) {
    throw new SourceError(`${flag} ${root}: is a file; expected ${expectedOf(expect)}`);
  }
}

/** What a look through the source found before the first file of the wanted kind. */
interface Survey {
  found: boolean;
  files: number;
  /** `*.json` / `*.json.gz` files that are not CloudTrail's by name (for `trail`). */
  jsonFiles: number;
  example?: string;
  /** The listing stopped at its cap without finding one: nothing can be concluded. */
  capped: boolean;
}

const SURVEY_CAP = 10_000;
const isJson = (key: string) => /\.json(?:\.gz)?$/.test(key) && !key.endsWith('.metadata.json');

function wanted(key: string, expect: 'trail' | 'json'): boolean {
  if (expect === 'json') return isJson(key) && !key.includes('CloudTrail-Digest/');
  const kind = classifyKey(key).kind;
  return kind === 'log' || kind === 'digest';
}

async function requireFiles(source: Source, flag: string, expect: 'trail' | 'json'): Promise<void> {
  const survey = source.s3
    ? await surveyStore(source.store, source.prefix, expect)
    : surveyFolder(source.description, expect);
  if (survey.found || survey.capped) return;
  const where = `${flag} ${source.description}`;
  const wantedText =
    expect === 'json'
      ? 'expected CloudTrail log files (*.json.gz, or *.json holding a Records array)'
      : `expected CloudTrail log or digest files named like ${TRAIL_LAYOUT}`;
  if (survey.files === 0) {
    throw new SourceError(
      `${where}: ${source.s3 ? 'no objects under it' : 'the folder is empty'}; ${wantedText}`,
    );
  }
  const what = expect === 'json' ? 'a .json or .json.gz file' : 'a CloudTrail log or digest file';
  const none =
    survey.files === 1 ? `its only file is not ${what}` : `none of its ${survey.files} files is ${what}`;
  const example = survey.example ? ` (${survey.files === 1 ? '' : 'e.g. '}${survey.example})` : '';
  const expected = expect === 'json' ? wantedText : `expected names like ${TRAIL_LAYOUT}`;
  const hint =
    expect === 'trail' && survey.jsonFiles > 0
      ? '; trailwatch rules test reads .json files under any name'
      : '';
  throw new SourceError(`${where}: ${none}${example}; ${expected}${hint}`);
}

function tally(survey: Survey, key: string, expect: 'trail' | 'json'): void {
  survey.files++;
  const json = isJson(key);
  if (json) survey.jsonFiles++;
  // A .json file says more about what went wrong than a README next to it.
  if (survey.example === undefined || (json && survey.jsonFiles === 1)) {
    const c = expect === 'trail' ? classifyKey(key) : undefined;
    survey.example = c?.kind === 'other' ? `${key}: ${c.reason}` : key;
  }
}

async function surveyStore(store: ObjectStore, prefix: string, expect: 'trail' | 'json'): Promise<Survey> {
  const survey: Survey = { found: false, files: 0, jsonFiles: 0, capped: false };
  for await (const o of store.list(prefix)) {
    if (o.key.endsWith('/')) continue;
    if (wanted(o.key, expect)) return { ...survey, found: true };
    tally(survey, o.key.slice(prefix.length), expect);
    if (survey.files >= SURVEY_CAP) return { ...survey, capped: true };
  }
  return survey;
}

/**
 * Depth first in key order, stopping at the first file wanted: a trail folder answers at once. Blocking reads of
 * each folder: a handful of folders of a local disk, read in microseconds each.
 */
function surveyFolder(root: string, expect: 'trail' | 'json'): Survey {
  const survey: Survey = { found: false, files: 0, jsonFiles: 0, capped: false };
  const walk = (dir: string, keyPrefix: string): boolean => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new SourceError(
        `cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        { cause: err },
      );
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const key = `${keyPrefix}${e.name}`;
      if (e.isDirectory()) {
        if (walk(join(dir, e.name), `${key}/`)) return true;
      } else if (e.isFile() && !e.name.endsWith('.metadata.json') && !e.name.endsWith('.tmp')) {
        if (wanted(key, expect)) return true;
        tally(survey, key, expect);
        if (survey.files >= SURVEY_CAP) {
          survey.capped = true;
          return true;
        }
      }
    }
    return false;
  };
  if (walk(root, '')) return { ...survey, found: !survey.capped };
  return survey;
}

/**
 * The public keys digests are checked against: a ListPublicKeys-shaped file when given, else CloudTrail's
 * ListPublicKeys for S3 sources. A key file inside a local source is never used: whoever can write the
 * folder can re-sign its digests and put their own key beside them.
 */
export async function keysFor(source: Source, file?: string): Promise<PublicKeySource | undefined> {
  if (file) {
    let text: Buffer;
    try {
      text = await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SourceError(
        `--public-keys ${resolve(file)}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code})`}; expected a ListPublicKeys JSON file`,
        { cause: err },
      );
    }
    const { parsePublicKeyList, StaticPublicKeySource } = await import('#shared/digest/public-keys.ts');
    try {
      return new StaticPublicKeySource(parsePublicKeyList(text));
    } catch (err) {
      throw new SourceError(`--public-keys ${resolve(file)}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (source.s3) {
    const { cloudTrailPublicKeys } = await import('#shared/adapters/cloudtrail-public-keys.ts');
    return cloudTrailPublicKeys();
  }
  return undefined;
}

/** The first {@link CliError} in an error's cause chain: what a use case wrapped (a retry error) still says. */
export function cliErrorIn(err: unknown): CliError | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof CliError) return e;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// S3 failures

const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
]);
const WRONG_REGION = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  hostname?: string;
  address?: string;
  port?: number;
  $metadata?: { httpStatusCode?: number };
}

function causes(err: unknown): AwsLikeError[] {
  const out: AwsLikeError[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === 'object' && !seen.has(e); e = (e as Error).cause) {
    seen.add(e);
    out.push(e as AwsLikeError);
  }
  return out;
}

function endpointOf(e: AwsLikeError): string {
  const configured = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL;
  if (configured) return configured;
  if (e.hostname) return e.hostname;
  if (e.address) return e.port ? `${e.address}:${e.port}` : e.address;
  return process.env.AWS_REGION ? `s3.${process.env.AWS_REGION}.amazonaws.com` : 'the S3 endpoint';
}

/**
 * The one line an S3 failure comes down to, or undefined when it is not one a user fixes from the command
 * line (a missing key, a failed condition: the caller handles those).
 */
export function s3Failure(
  err: unknown,
  bucket: string,
  permission: string,
  resource: string,
  regionOption = true,
): CliError | undefined {
  const setRegion = regionOption ? 'AWS_REGION or --region' : 'AWS_REGION';
  const regionFix = regionOption ? '--region' : 'AWS_REGION';
  for (const e of causes(err)) {
    const name = e.name ?? '';
    const status = e.$metadata?.httpStatusCode;
    if (/region is missing/i.test(e.message ?? '')) {
      return new SourceError(`no AWS region for s3://${bucket}: set ${setRegion}`, { cause: err });
    }
    if ((e.code && NETWORK_CODES.has(e.code)) || name === 'TimeoutError' || name === 'RequestTimeout') {
      return new SourceError(
        `cannot reach ${endpointOf(e)} for s3://${bucket} (${e.code ?? name}): check the network, AWS_ENDPOINT_URL or ${regionFix}`,
        { cause: err },
      );
    }
    if (name === 'CredentialsProviderError' || /could not load credentials/i.test(e.message ?? '')) {
      return new SourceError(
        `no AWS credentials for s3://${bucket}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
        { cause: err },
      );
    }
    if (CREDENTIAL_ERRORS.has(name)) {
      return new SourceError(
        `S3 refused the credentials for s3://${bucket} (${name}): check AWS_PROFILE or AWS_ACCESS_KEY_ID`,
        { cause: err },
      );
    }
    if (name === 'NoSuchBucket') {
      return new SourceError(
        `no bucket s3://${bucket} (NoSuchBucket): check the name, AWS_ENDPOINT_URL or ${regionFix}`,
        {
          cause: err,
        },
      );
    }
    if (WRONG_REGION.has(name) || status === 301) {
      return new SourceError(
        `s3://${bucket} is not in ${process.env.AWS_REGION ?? 'the configured region'} (${name || status}): set ${regionFix} to the bucket's region`,
        { cause: err },
      );
    }
    if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
      return new SourceError(
        `access denied to s3://${bucket}: the credentials need ${permission} on ${resource}`,
        { cause: err },
      );
    }
  }
  return undefined;
}

/** An S3 store whose failures a user can fix come out as {@link SourceError}s naming the bucket and permission. */
class CheckedS3Store implements ObjectStore {
  readonly location: string;
  private readonly inner: ObjectStore;
  private readonly bucket: string;
  private readonly regionOption: boolean;

  constructor(inner: ObjectStore, bucket: string, regionOption: boolean) {
    this.inner = inner;
    this.bucket = bucket;
    this.regionOption = regionOption;
    this.location = inner.location;
  }

  private fail(err: unknown, permission: string, objects: boolean): never {
    const resource = objects ? `arn:aws:s3:::${this.bucket}/*` : `arn:aws:s3:::${this.bucket}`;
    throw s3Failure(err, this.bucket, permission, resource, this.regionOption) ?? err;
  }

  async get(key: string): Promise<StoredObject> {
    try {
      return await this.inner.get(key);
    } catch (err) {
      this.fail(err, 's3:GetObject', true);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      return await this.inner.head(key);
    } catch (err) {
      this.fail(err, 's3:GetObject', true);
    }
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    try {
      return await this.inner.put(key, body, options);
    } catch (err) {
      this.fail(err, 's3:PutObject', true);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.inner.delete(key);
    } catch (err) {
      this.fail(err, 's3:DeleteObject', true);
    }
  }

  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    try {
      for await (const o of this.inner.list(prefix, options)) yield o;
    } catch (err) {
      this.fail(err, 's3:ListBucket', false);
    }
  }

  async listFolders(prefix: string): Promise<string[]> {
    try {
      return await this.inner.listFolders(prefix);
    } catch (err) {
      this.fail(err, 's3:ListBucket', false);
    }
  }
}

/** A folder the command writes into: created when missing, refused when a file stands in its place. */
export async function outputFolder(flag: string, arg: string): Promise<string> {
  const path = resolve(arg);
  const info = await stat(path).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new SourceError(
      `${flag} ${path}: is a file; expected a folder to write into (created when missing)`,
    );
  }
  return path;
}
