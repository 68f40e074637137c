/**
 * The audit's HTML report as an auditor's browser shows it: headless Chromium (the @sparticuz/chromium npm
 * package) loads the page written by `trailwatch audit --html`, and the verdict must be at the top, one
 * timeline strip per account-region must be laid out with one cell an hour, and the page must fetch nothing.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { generateTrail } from '#cli/generator/index.ts';
import { launchBrowser } from '#test/support/browser.ts';
import { runCli } from '#test/support/cli-run.ts';
import { INTEGRITY_TRAIL, integrityScenario } from './tamper.ts';

const ACCOUNT = INTEGRITY_TRAIL.account;
const REGIONS = ['us-east-1', 'eu-west-1'];

let root: string;
let trailDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trailwatch-audit-report-'));
  trailDir = join(root, 'trail');
  await generateTrail(
    integrityScenario({
      seed: 11,
      hours: 24,
      regions: REGIONS,
      loggingStops: [
        { start: '2026-03-02T09:30:00Z', minutes: 120, principalArn: `arn:aws:iam::${ACCOUNT}:user/mallory` },
      ],
    }),
    new FsObjectStore(trailDir),
  );
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('trailwatch audit --html', () => {
  it('renders in Chromium with the verdict at the top and one timeline per account-region', async () => {
    // Prepare
    const out = join(root, 'audit.html');

    // Act
    const cli = await runCli([
      'audit',
      '--source',
      trailDir,
      '--public-keys',
      join(trailDir, 'public-keys.json'),
      '--start-time',
      '2026-03-02T00:00:00Z',
      '--end-time',
      '2026-03-03T00:00:00Z',
      '--event-name',
      'StopLogging',
      '--html',
      out,
    ]);
    const html = await readFile(out, 'utf8');
    const browser = await launchBrowser();
    let page: {
      errors: string[];
      verdict: { text: string; top: number; className: string };
      firstBlockTop: number;
      timelines: {
        place: string | null;
        hours: number;
        cells: number;
        missing: number;
        width: number;
        height: number;
      }[];
      results: string[];
    };
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (err) => errors.push(String(err)));
      await tab.goto(pathToFileURL(out).href, { waitUntil: 'load' });
      const verdict = await tab.$eval('#verdict', (e) => ({
        text: e.textContent ?? '',
        top: e.getBoundingClientRect().top,
        className: e.className,
      }));
      const blocks = await tab.$$eval('table, svg.timeline, #query', (es) =>
        es.map((e) => e.getBoundingClientRect().top),
      );
      const timelines = await tab.$$eval('svg.timeline', (svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          return {
            place: svg.getAttribute('data-place'),
            hours: Number(svg.getAttribute('data-hours')),
            cells: svg.querySelectorAll('rect.hour').length,
            missing: svg.querySelectorAll('rect.hour.missing').length,
            width: box.width,
            height: box.height,
          };
        }),
      );
      const results = await tab.$$eval('#results tr td:nth-child(5)', (tds) =>
        tds.map((td) => td.textContent ?? ''),
      );
      const laidOut = { verdict, firstBlockTop: Math.min(...blocks), timelines, results };
      page = { errors, ...laidOut };
    } finally {
      await browser.close();
    }

    // Assess: the command
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe(`report written to ${out}\n`);
    // Assess: nothing loaded from elsewhere
    expect(html).not.toMatch(
      /\s(src|href|srcset|action|xlink:href)=|url\(|@import|<(link|img|iframe|object|embed|script)\b/,
    );
    expect(html).toContain(`content="default-src 'none';`);
    expect(page.errors).toEqual([]);
    // Assess: the verdict first, above the query, the tables and the strips
    expect(page.verdict.className).toBe('verdict not-proven');
    expect(page.verdict.text).toMatch(/^NOT PROVEN1 matching event, but 2 holes/);
    expect(page.verdict.top).toBeLessThan(page.firstBlockTop);
    // Assess: one strip per account-region, one cell an hour, the stopped hours missing
    expect(page.timelines.map((t) => t.place).sort()).toEqual(REGIONS.map((r) => `${ACCOUNT}/${r}`).sort());
    for (const t of page.timelines) {
      expect(t.cells).toBe(t.hours);
      expect(t.hours).toBe(25);
      expect(t.missing).toBe(3);
      expect(t.width).toBeGreaterThan(100);
      expect(t.height).toBeGreaterThan(10);
    }
    // Assess: the StopLogging call itself is the one result
    expect(page.results).toEqual(['cloudtrail:StopLogging']);
  });
});
