/**
 * `trailwatch insights report` on a folder holding a generated trail, its log-file summaries, the detection
 * state and the Insights files written by detect; the page is opened in headless Chromium, which must lay
 * out one chart per insight.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore, MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { generateTrail } from '#cli/generator/index.ts';
import { detect } from '#shared/insights/index.ts';
import { stateKey } from '#shared/insights/state.ts';
import { readAll } from '#shared/ports.ts';
import { summarizeDelivery } from '#test/e2e/insights-trail.ts';

const run = promisify(execFile);
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const BUCKET = 'trailwatch-report-e2e';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

let folder: string;
let insightIds: Set<string>;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'trailwatch-insights-report-'));
  const trail = new MemoryObjectStore('trail');
  const generated = await generateTrail(
    {
      seed: 5,
      start: '2026-03-02T00:00:00Z',
      hours: 72,
      accounts: [ACCOUNT],
      regions: [REGION],
      bucket: BUCKET,
      trailName: 'management-events',
      homeRegion: REGION,
      eventsPerMinute: 10,
      digests: false,
      recurringDeployBurst: true,
      securityEvents: false,
      bursts: [
        {
          eventSource: 'iam.amazonaws.com',
          eventName: 'CreateRole',
          start: '2026-03-04T03:10:00Z',
          minutes: 12,
          perMinute: 30,
        },
        {
          eventSource: 'ssm.amazonaws.com',
          eventName: 'GetParameter',
          start: '2026-03-04T11:30:00Z',
          minutes: 10,
          perMinute: 15,
          errorCode: 'AccessDeniedException',
        },
      ],
    },
    trail,
  );
  // The folder looks like the buckets after a replay: summaries and state where ingest and detect keep
  // them, Insights files where CloudTrail puts them.
  const out = new FsObjectStore(folder);
  const state = new MemoryObjectStore('state');
  insightIds = new Set();
  for (const d of generated.deliveries) {
    if (d.kind !== 'log') continue;
    const s = await summarizeDelivery(trail, BUCKET, d);
    await out.put(`summaries/${BUCKET}/${d.key.replace(/\.json\.gz$/, '')}.summary.json`, JSON.stringify(s));
    const r = await detect(state, {
      account: ACCOUNT,
      region: REGION,
      now: new Date(d.deliveredAt),
      summaries: [s],
      insightStore: out,
    });
    for (const rec of r.records) insightIds.add(rec.sharedEventID);
  }
  await out.put(stateKey(ACCOUNT, REGION), await readAll(state, stateKey(ACCOUNT, REGION)));
}, 120_000);

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('trailwatch insights report', () => {
  it('writes a self-contained page that Chromium renders with one chart per insight', async () => {
    // Prepare
    const out = join(folder, 'report.html');
    const profile = join(folder, 'chromium-profile');
    // Act
    const cli = await run(process.execPath, [
      'cli/trailwatch.ts',
      'insights',
      'report',
      '--source',
      folder,
      '--out',
      out,
      '--now',
      '2026-03-05T00:00:00Z',
    ]);
    const html = await readFile(out, 'utf8');
    const dom = await run(
      'chromium',
      [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--dump-dom', `file://${out}`],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    // Assess
    expect(insightIds.size).toBe(2);
    expect(cli.stdout).toContain('2 insights, 2 charts');
    // Nothing is loaded from elsewhere: no element or attribute that fetches, and a CSP that forbids it
    expect(html).not.toMatch(
      /\s(src|href|srcset|action|xlink:href)=|url\(|@import|<(link|img|iframe|object|embed)\b/,
    );
    expect(html).toContain(`content="default-src 'none';`);
    const charts = [...dom.stdout.matchAll(/<svg class="insight-chart"[^>]*>/g)].map((m) => m[0]);
    expect(charts).toHaveLength(insightIds.size);
    for (const tag of charts) {
      expect(tag).toContain('data-rendered="true"');
      const length = Number(/data-path-length="([\d.]+)"/.exec(tag)?.[1]);
      expect(length).toBeGreaterThan(100);
      const id = /data-insight="([^"]+)"/.exec(tag)?.[1];
      expect(insightIds.has(id ?? '')).toBe(true);
    }
    expect(dom.stdout).toContain(`${insightIds.size} of ${insightIds.size} charts rendered`);
    for (const part of ['class="rate"', 'class="expected"', 'class="band"', 'class="start"', 'class="end"']) {
      expect(dom.stdout.split(part).length - 1).toBeGreaterThanOrEqual(insightIds.size);
    }
  });

  it('explains a bad source folder instead of failing with a stack trace', async () => {
    // Act
    const attempt = run(process.execPath, [
      'cli/trailwatch.ts',
      'insights',
      'report',
      '--source',
      join(folder, 'nope'),
      '--out',
      join(folder, 'x.html'),
    ]);
    // Assess
    await expect(attempt).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('expected --source to be a folder'),
    });
  });
});
