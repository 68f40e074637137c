/**
 * Benchmark: `trailwatch validate` against `aws cloudtrail validate-logs` on the same trail in S3.
 *
 *   npx node test/bench/validate.ts [--hours 90] [--events-per-minute 20] [--skip-tampered]
 *
 * Starts its own moto_server on 127.0.0.1, uploads a generated trail of at least 1,000 log files with
 * each digest's signature as S3 user metadata, then times:
 * - trailwatch validate (child process, S3 through moto, keys through ListPublicKeys);
 * - aws cloudtrail validate-logs (when `aws` is installed), with the same data. moto has no CloudTrail
 *   ListPublicKeys, so a tiny server on 127.0.0.1 answers ListPublicKeys and DescribeTrails in CloudTrail's
 *   JSON protocol; both tools reach it through AWS_ENDPOINT_URL_CLOUDTRAIL, and S3 through
 *   AWS_ENDPOINT_URL_S3;
 * - plain sequential SHA-256 of the same files (stored bytes, then gunzip + SHA-256 of the content, then
 *   sequential GET + SHA-256 through moto).
 * Then it tampers with the bucket in every way the tests cover and shows which tool reports what.
 * It prints figures and never fails on timing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { FsObjectStore, MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { generateTrail, sampleSigningKey } from '#cli/generator/index.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { displayDate } from '#shared/digest/verdict.ts';
import { classifyKey, digestFileKey } from '#shared/keys.ts';
import { readAll } from '#shared/ports.ts';
import {
  appendGzipMember,
  attackerKey,
  copyObject,
  deleteObject,
  modifyLogFile,
  resignDigest,
} from '#test/e2e/tamper.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const HOURS = Number(arg('hours', '90'));
const EVENTS_PER_MINUTE = Number(arg('events-per-minute', '20'));
const SKIP_TAMPERED = process.argv.includes('--skip-tampered');
const LATENCY_MS = Number(arg('latency-ms', '20'));

const ACCOUNT = '777788889999';
const REGION = 'us-east-1';
const TRAIL = 'bench-trail';
const BUCKET = 'bench-trail-bucket';
const ARN = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${TRAIL}`;
const START = '2026-01-05T00:00:00Z';
const HOUR_MS = 3_600_000;

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const now = () => performance.now();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function startMoto(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/moto-api/`)).status < 500) return { url, child };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('moto_server did not start within 30 s');
}

/** CloudTrail's JSON 1.1 protocol, two operations: what validate-logs needs and moto lacks. */
function startCloudTrailStub(
  publicKeysJson: string,
): Promise<{ url: string; server: Server; calls: Map<string, number> }> {
  const calls = new Map<string, number>();
  const keys = JSON.parse(publicKeysJson) as {
    PublicKeyList: {
      Value: string;
      ValidityStartTime: string;
      ValidityEndTime: string;
      Fingerprint: string;
    }[];
  };
  const epoch = (iso: string) => Date.parse(iso) / 1000;
  const answer = (target: string): [number, unknown] => {
    const op = target.split('.').at(-1) ?? '';
    calls.set(op, (calls.get(op) ?? 0) + 1);
    if (op === 'ListPublicKeys') {
      return [
        200,
        {
          PublicKeyList: keys.PublicKeyList.map((k) => ({
            Value: k.Value,
            ValidityStartTime: epoch(k.ValidityStartTime),
            ValidityEndTime: epoch(k.ValidityEndTime),
            Fingerprint: k.Fingerprint,
          })),
        },
      ];
    }
    if (op === 'DescribeTrails') {
      return [
        200,
        {
          trailList: [
            {
              Name: TRAIL,
              S3BucketName: BUCKET,
              TrailARN: ARN,
              HomeRegion: REGION,
              IsMultiRegionTrail: false,
              IsOrganizationTrail: false,
              LogFileValidationEnabled: true,
            },
          ],
        },
      ];
    }
    return [400, { __type: 'UnknownOperationException', message: `not served here: ${op}` }];
  };
  const server = createHttpServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      const [status, body] = answer(String(req.headers['x-amz-target'] ?? ''));
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, server, calls });
    });
  });
}

/** Forwards every request to `target` after `delayMs`: S3's per-request latency, which moto does not have. */
function startDelayProxy(target: string, delayMs: number): Promise<{ url: string; server: Server }> {
  const t = new URL(target);
  const server = createHttpServer((req, res) => {
    setTimeout(() => {
      const up = httpRequest(
        { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      req.pipe(up);
    }, delayMs);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, server });
    });
  });
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  error?: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    const t = now();
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => resolve({ code: null, stdout, stderr, ms: now() - t, error: err.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: now() - t }));
  });
}

const invalidLines = (r: RunResult) =>
  r.stderr
    .split('\n')
    .filter((l) => l.includes('\tINVALID: '))
    .sort();

async function main(): Promise<void> {
  console.log(`validate benchmark: ${HOURS} h, ${EVENTS_PER_MINUTE} events/min, 1 account, 1 region`);
  const moto = await startMoto();
  const work = await mkdtemp(join(tmpdir(), 'trailwatch-bench-validate-'));
  let stub: Awaited<ReturnType<typeof startCloudTrailStub>> | undefined;
  try {
    // Generate in memory, upload concurrently.
    let t = now();
    const memory = new MemoryObjectStore(BUCKET);
    const trail = await generateTrail(
      {
        seed: 2026,
        start: START,
        hours: HOURS,
        accounts: [ACCOUNT],
        regions: [REGION],
        bucket: BUCKET,
        trailName: TRAIL,
        homeRegion: REGION,
        eventsPerMinute: EVENTS_PER_MINUTE,
        digests: true,
        recurringDeployBurst: false,
        bursts: [],
        securityEvents: false,
      },
      memory,
    );
    const logKeys = trail.deliveries.filter((d) => d.kind === 'log').map((d) => d.key);
    const digestKeys = trail.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key);
    let compressed = 0;
    let uncompressed = 0;
    for (const k of logKeys) {
      const body = memory.objects.get(k)!.body;
      compressed += body.length;
      uncompressed += gunzipSync(body).length;
    }
    console.log(
      `generated ${logKeys.length} log files (${(compressed / 1e6).toFixed(1)} MB gzip, ${(uncompressed / 1e6).toFixed(1)} MB JSON) and ${digestKeys.length} digests in ${fmt(now() - t)}`,
    );
    if (logKeys.length < 1000) console.log('warning: fewer than 1,000 log files; raise --hours');

    t = now();
    const client = new S3Client({
      endpoint: moto.url,
      forcePathStyle: true,
      region: REGION,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const s3 = new S3ObjectStore(client, BUCKET);
    const all = [...memory.objects.keys()].filter((k) => k.startsWith('AWSLogs/'));
    for (let i = 0; i < all.length; i += 32) {
      await Promise.all(
        all.slice(i, i + 32).map((k) => {
          const o = memory.objects.get(k)!;
          return s3.put(k, o.body, o.metadata ? { metadata: o.metadata } : {});
        }),
      );
    }
    console.log(`uploaded ${all.length} objects to moto_server in ${fmt(now() - t)}`);

    const keysJson = memory.objects.get(trail.publicKeysKey)!.body.toString();
    stub = await startCloudTrailStub(keysJson);
    const lastDigestMs = (classifyKey(digestKeys.at(-1)!) as { time: Date }).time.getTime();
    const end = displayDate(new Date(lastDigestMs + 30 * 60_000));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ENDPOINT_URL_S3: moto.url,
      AWS_ENDPOINT_URL_CLOUDTRAIL: stub.url,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const common = ['--trail-arn', ARN, '--start-time', START, '--end-time', end];
    const trailwatch = (extra: string[] = []) =>
      run(
        join(ROOT, 'node_modules/.bin/node'),
        ['cli/trailwatch.ts', 'validate', ...common, '--s3-bucket', BUCKET, ...extra],
        env,
      );
    const awsCli = (extra: string[] = []) =>
      run('aws', ['cloudtrail', 'validate-logs', ...common, '--region', REGION, ...extra], env);

    // Baselines on the same files.
    t = now();
    for (const k of logKeys) createHash('sha256').update(memory.objects.get(k)!.body).digest('hex');
    const shaStored = now() - t;
    t = now();
    for (const k of logKeys)
      createHash('sha256')
        .update(gunzipSync(memory.objects.get(k)!.body))
        .digest('hex');
    const shaContent = now() - t;
    t = now();
    for (const k of logKeys)
      createHash('sha256')
        .update(await readAll(s3, k))
        .digest('hex');
    const shaGet = now() - t;

    // Warm-up (first start of node and python reads their files from disk), then the timed runs.
    await trailwatch(['--json']);
    const startup = await run(
      join(ROOT, 'node_modules/.bin/node'),
      ['cli/trailwatch.ts', 'validate', '--help'],
      env,
    );
    const tw = await trailwatch(['--verbose']);
    const twSeq = await trailwatch(['--verbose', '--concurrency', '1']);
    const twCalls = new Map(stub.calls);
    stub.calls.clear();

    const probe = await run('aws', ['--version'], env);
    const haveAws = probe.code === 0;
    const aws = haveAws ? await awsCli(['--verbose']) : undefined;
    const awsCalls = new Map(stub.calls);

    // The same through a proxy that adds S3-like latency to every request.
    const slow = await startDelayProxy(moto.url, LATENCY_MS);
    const slowEnv = { ...env, AWS_ENDPOINT_URL_S3: slow.url };
    const twSlow = await run(
      join(ROOT, 'node_modules/.bin/node'),
      ['cli/trailwatch.ts', 'validate', ...common, '--s3-bucket', BUCKET],
      slowEnv,
    );
    const awsSlow = haveAws
      ? await run('aws', ['cloudtrail', 'validate-logs', ...common, '--region', REGION], slowEnv)
      : undefined;
    slow.server.close();

    // And on a local copy of the bucket: the checker's own speed, no network.
    const folder = join(work, 'mirror');
    const fs = new FsObjectStore(folder);
    for (const k of all) {
      const o = memory.objects.get(k)!;
      await fs.put(k, o.body, o.metadata ? { metadata: o.metadata } : {});
    }
    await fs.put('public-keys.json', keysJson);
    const twLocal = await run(
      join(ROOT, 'node_modules/.bin/node'),
      [
        'cli/trailwatch.ts',
        'validate',
        ...common,
        '--source',
        folder,
        '--s3-bucket',
        BUCKET,
        '--public-keys',
        join(folder, 'public-keys.json'),
      ],
      env,
    );

    const row = (label: string, r: RunResult | undefined) =>
      r
        ? `  ${label.padEnd(44)} ${fmt(r.ms).padStart(8)}  exit ${r.code}  ${r.stdout.match(/\d+\/\d+ log files valid/)?.[0] ?? r.stderr.slice(0, 300)}`
        : `  ${label.padEnd(44)} not run`;
    console.log('');
    console.log(`S3 = moto_server on 127.0.0.1 (${all.length} objects)`);
    console.log(row('trailwatch validate --verbose', tw));
    console.log(row('trailwatch validate --verbose --concurrency 1', twSeq));
    console.log(row('aws cloudtrail validate-logs --verbose', aws));
    console.log(
      `  CloudTrail calls: trailwatch (3 runs) ${[...twCalls].map(([k, v]) => `${k} x${v}`).join(', ') || 'none'}; aws ${[...awsCalls].map(([k, v]) => `${k} x${v}`).join(', ') || 'none'}`,
    );
    if (aws) {
      console.log(`  stdout identical to the AWS CLI's: ${tw.stdout === aws.stdout ? 'yes' : 'NO'}`);
      console.log(`  stderr identical to the AWS CLI's: ${tw.stderr === aws.stderr ? 'yes' : 'NO'}`);
      if (tw.stdout !== aws.stdout) {
        const a = aws.stdout.split('\n');
        const b = tw.stdout.split('\n');
        const i = a.findIndex((l, n) => l !== b[n]);
        console.log(
          `    first difference at line ${i + 1}:\n      aws:        ${a[i]}\n      trailwatch: ${b[i]}`,
        );
      }
      console.log(`  (${probe.stdout.trim() || probe.stderr.trim()})`);
    } else {
      console.log(`  aws cloudtrail validate-logs not run: ${probe.error ?? probe.stderr.trim()}`);
    }
    console.log('');
    console.log(`S3 = moto_server behind a proxy adding ${LATENCY_MS} ms per request`);
    console.log(row('trailwatch validate', twSlow));
    console.log(row('aws cloudtrail validate-logs', awsSlow));
    console.log('');
    console.log('local copy of the bucket');
    console.log(row('trailwatch validate --source DIR', twLocal));
    console.log('');
    console.log('start-up alone');
    console.log(row('trailwatch validate --help', startup));
    console.log(row('aws --version', haveAws ? probe : undefined));
    console.log('');
    console.log('plain sequential SHA-256 of the same log files');
    console.log(`  ${'stored (gzip) bytes, in memory'.padEnd(44)} ${fmt(shaStored).padStart(8)}`);
    console.log(
      `  ${'gunzip + SHA-256 of the content, in memory'.padEnd(44)} ${fmt(shaContent).padStart(8)}`,
    );
    console.log(`  ${'GET from moto + SHA-256 of the stored bytes'.padEnd(44)} ${fmt(shaGet).padStart(8)}`);
    console.log('');
    console.log('ratios');
    const ratio = (label: string, a: number | undefined, b: number | undefined, digits = 1) =>
      console.log(
        `  ${label.padEnd(60)} ${a !== undefined && b !== undefined ? `${(a / b).toFixed(digits)}x` : 'n/a'}`,
      );
    ratio('aws validate-logs / trailwatch, moto', aws?.ms, tw.ms);
    ratio(`aws validate-logs / trailwatch, moto + ${LATENCY_MS} ms`, awsSlow?.ms, twSlow.ms);
    ratio('trailwatch / sequential GET + SHA-256, moto', tw.ms, shaGet, 2);
    ratio('trailwatch --concurrency 1 / trailwatch, moto', twSeq.ms, tw.ms);
    ratio('trailwatch on a local copy / sequential in-memory gunzip + SHA-256', twLocal.ms, shaContent);
    ratio('trailwatch on a local copy / sequential in-memory SHA-256 (gzip bytes)', twLocal.ms, shaStored, 0);

    if (SKIP_TAMPERED) return;
    // Every tampering the tests cover, at once, in distinct hours.
    const digestAt = (i: number) => digestKeys[i];
    const logsOf = (i: number) =>
      JSON.parse(gunzipSync(memory.objects.get(digestAt(i))!.body).toString()).logFiles.map(
        (l: { s3Object: string }) => l.s3Object,
      ) as string[];
    const copyKey = digestFileKey({
      account: ACCOUNT,
      region: REGION,
      trailName: TRAIL,
      homeRegion: REGION,
      endTime: new Date((classifyKey(digestAt(50)) as { time: Date }).time.getTime() + 20 * 60_000),
    });
    const tamperings: [string, () => Promise<void>][] = [
      ['log file modified', () => modifyLogFile(s3, logsOf(10)[0])],
      ['log file deleted', () => deleteObject(s3, logsOf(12)[1])],
      ['gzip member appended to a log file', () => appendGzipMember(s3, logsOf(14)[0])],
      ['digest deleted', () => deleteObject(s3, digestAt(20))],
      [
        'two consecutive digests deleted',
        async () => {
          await deleteObject(s3, digestAt(30));
          await deleteObject(s3, digestAt(31));
        },
      ],
      ['digest re-signed with another key', () => resignDigest(s3, digestAt(40), attackerKey())],
      [
        'digest edited and re-signed with a valid key',
        async () => {
          const { editDigest } = await import('#test/e2e/tamper.ts');
          await editDigest(s3, digestAt(45), (d) => d.logFiles.pop(), {
            resignWith: sampleSigningKey().privateKey,
          });
        },
      ],
      ['digest copied to another key', () => copyObject(s3, digestAt(50), copyKey)],
      ['newest digest deleted', () => deleteObject(s3, digestKeys.at(-1)!)],
    ];
    for (const [, tamper] of tamperings) await tamper();
    const overdue = displayDate(new Date(lastDigestMs + HOUR_MS + 5 * 60_000));
    const overdueArgs = ['--end-time', overdue];
    const twT = await run(
      join(ROOT, 'node_modules/.bin/node'),
      ['cli/trailwatch.ts', 'validate', ...common.slice(0, 4), ...overdueArgs, '--s3-bucket', BUCKET],
      env,
    );
    const awsT = aws
      ? await run(
          'aws',
          ['cloudtrail', 'validate-logs', ...common.slice(0, 4), ...overdueArgs, '--region', REGION],
          env,
        )
      : undefined;
    console.log('');
    console.log(`tampered trail (${tamperings.map(([n]) => n).join('; ')})`);
    console.log(`  trailwatch: ${fmt(twT.ms)}, exit ${twT.code}, ${invalidLines(twT).length} INVALID lines`);
    if (awsT)
      console.log(
        `  aws cli:    ${fmt(awsT.ms)}, exit ${awsT.code}, ${invalidLines(awsT).length} INVALID lines`,
      );
    const mine = new Set(invalidLines(twT));
    const theirs = new Set(awsT ? invalidLines(awsT) : []);
    const short = (l: string) => l.replace(/s3:\/\/[^\t]*\/([^/\t]+)\t/, '$1  ');
    for (const l of [...new Set([...mine, ...theirs])].sort()) {
      const who =
        mine.has(l) && theirs.has(l) ? 'both          ' : mine.has(l) ? 'trailwatch only' : 'aws only       ';
      console.log(`  ${who} ${short(l)}`);
    }
  } finally {
    stub?.server.close();
    moto.child.kill('SIGTERM');
    await rm(work, { recursive: true, force: true });
  }
}

await main();
