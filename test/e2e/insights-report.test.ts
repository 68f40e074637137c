/**
 * `trailwatch insights report` on a folder holding a generated trail, its log-file summaries, the detection
 * state and the Insights files written by detect; the page is opened in headless Chromium, which must lay
 * out one chart per insight and run the page's own check of what it drew.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore, MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { generateTrail } from '#cli/generator/index.ts';
import { detect } from '#shared/insights/index.ts';
import { stateKey } from '#shared/insights/state.ts';
import { readAll } from '#shared/ports.ts';
import { summarizeDelivery } from '#test/e2e/insights-trail.ts';
import { launchBrowser } from '#test/support/browser.ts';

const run = promisify(execFile);
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const BUCKET = 'trailwatch-report-e2e';

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

interface RenderedChart {
  insight: string | null;
  rendered: string | null;
  pathLength: number;
  width: number;
  height: number;
  parts: Record<'rate' | 'expected' | 'band' | 'start' | 'end', number>;
  /** Whether hiding the rate line changes the chart's screenshot: the line was painted, not only laid out. */
  ratePainted: boolean;
}

interface RenderedPage {
  charts: RenderedChart[];
  status: string | null;
  errors: string[];
}

/** What Chromium made of the page once loaded: each chart as laid out, the page's status line, script errors. */
async function renderedPage(browser: Browser, url: string): Promise<RenderedPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(url, { waitUntil: 'load' });
  const charts = await page.$$eval('svg.insight-chart', (svgs) =>
    svgs.map((svg) => {
      const box = svg.getBoundingClientRect();
      return {
        insight: svg.getAttribute('data-insight'),
        rendered: svg.getAttribute('data-rendered'),
        pathLength: Number(svg.getAttribute('data-path-length')),
        width: box.width,
        height: box.height,
        parts: {
          rate: svg.querySelectorAll('path.rate').length,
          expected: svg.querySelectorAll('path.expected').length,
          band: svg.querySelectorAll('path.band').length,
          start: svg.querySelectorAll('line.start').length,
          end: svg.querySelectorAll('line.end').length,
        },
      };
    }),
  );
  const status = await page.$eval('#render-status', (p) => p.textContent);
  const painted: boolean[] = [];
  for (const svg of await page.$$('svg.insight-chart')) {
    const withRate = Buffer.from(await svg.screenshot());
    await svg.$eval('path.rate', (path) => path.setAttribute('visibility', 'hidden'));
    const withoutRate = Buffer.from(await svg.screenshot());
    painted.push(!withRate.equals(withoutRate));
  }
  return { charts: charts.map((c, i) => ({ ...c, ratePainted: painted[i] ?? false })), status, errors };
}

describe('trailwatch insights report', () => {
  it('writes a self-contained page that Chromium renders with one chart per insight', async () => {
    // Prepare
    const out = join(folder, 'report.html');

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
    const browser = await launchBrowser();
    let page: RenderedPage;
    try {
      page = await renderedPage(browser, pathToFileURL(out).href);
    } finally {
      await browser.close();
    }

    // Assess
    expect(insightIds.size).toBe(2);
    expect(cli.stdout).toContain('2 insights, 2 charts');
    // Nothing is loaded from elsewhere: no element or attribute that fetches, and a CSP that forbids it
    expect(html).not.toMatch(
      /\s(src|href|srcset|action|xlink:href)=|url\(|@import|<(link|img|iframe|object|embed)\b/,
    );
    expect(html).toContain(`content="default-src 'none';`);
    expect(page.errors, 'expected the page to run without script errors').toEqual([]);
    expect(page.charts.map((c) => c.insight).sort()).toEqual([...insightIds].sort());
    for (const chart of page.charts) {
      expect(chart.rendered, `expected chart ${chart.insight} marked rendered by the page`).toBe('true');
      expect(chart.pathLength, `expected the rate line of ${chart.insight} drawn`).toBeGreaterThan(100);
      expect(chart.width, `expected chart ${chart.insight} laid out with a width`).toBeGreaterThan(0);
      expect(chart.height, `expected chart ${chart.insight} laid out with a height`).toBeGreaterThan(0);
      expect(chart.ratePainted, `expected the rate line of ${chart.insight} painted`).toBe(true);
      expect(chart.parts, `expected every part of chart ${chart.insight}`).toEqual({
        rate: 1,
        expected: 1,
        band: 1,
        start: 1,
        end: 1,
      });
    }
    expect(page.status).toBe(`${insightIds.size} of ${insightIds.size} charts rendered`);
  });

  it('explains a bad source folder instead of failing with a stack trace', async () => {
    // Prepare
    const missing = join(folder, 'nope');

    // Act
    const attempt = run(process.execPath, [
      'cli/trailwatch.ts',
      'insights',
      'report',
      '--source',
      missing,
      '--out',
      join(folder, 'x.html'),
    ]);

    // Assess
    const failure = (await attempt.then(
      () => expect.fail('expected the report to refuse a missing --source folder'),
      (err: unknown) => err,
    )) as { code: number; stderr: string };
    expect(failure.code, `expected exit code 2, found ${failure.code}; stderr:\n${failure.stderr}`).toBe(2);
    // The message names the option, the path given and what it should have been
    expect(failure.stderr).toContain('--source');
    expect(failure.stderr).toContain(missing);
    expect(failure.stderr).toContain('folder');
    expect(failure.stderr, 'expected no stack trace').not.toMatch(/^\s+at /m);
  });
});
