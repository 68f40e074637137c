/**
 * `trailwatch changes` on the vendored real records (Stratus Red Team detonations, test/fixtures/stratus):
 * as a folder of record files, and laid out as CloudTrail delivers them. The security-group change
 * (AuthorizeSecurityGroupIngress opening port 22) must be found before the time asked about and listed
 * first for its group; read-only calls only when asked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { type ChangesCommandOptions, runChanges } from '#cli/commands/changes.ts';
import { allStratusRecords, writeTrail } from '#test/fixtures/lookup/trail.ts';
import { runCli } from '#test/support/cli-run.ts';
import { stratusDir } from '#test/support/logfiles.ts';

const GROUP = 'sg-003dc7f1f1c686164';
const SG_EVENT = '9fd68588-ecbf-4528-a345-199fa6bb0821';
/** Seven minutes after the port was opened: "what changed just before?" */
const AT = '2024-08-01T12:31:00Z';

interface Json {
  from: string;
  to: string;
  groups: {
    resource: string;
    changes: {
      eventId: string;
      eventName: string;
      outcome: string;
      who: string;
      sourceIp: string;
      userAgent: string;
      readOnly: boolean;
      time: string;
    }[];
  }[];
}

let root: string;
let trailDir: string;

async function changes(source: string, extra: Partial<ChangesCommandOptions> = {}): Promise<Json> {
  let out = '';
  const code = await runChanges(
    { source, at: AT, json: true, ...extra },
    { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => undefined } },
  );
  expect(code).toBe(0);
  return JSON.parse(out) as Json;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trailwatch-changes-'));
  trailDir = join(root, 'trail');
  await writeTrail(new FsObjectStore(trailDir), allStratusRecords());
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('trailwatch changes on real records', () => {
  for (const [name, source] of [
    ['a folder of record files', () => stratusDir],
    ['a trail laid out as CloudTrail delivers it', () => trailDir],
  ] as const) {
    it(`finds the security-group change before the time and lists it first for its group (${name})`, async () => {
      // Act
      const r = await changes(source());

      // Assess
      const group = r.groups.find((g) => g.resource === GROUP);
      expect(group?.changes[0]).toMatchObject({
        eventId: SG_EVENT,
        eventName: 'AuthorizeSecurityGroupIngress',
        outcome: 'succeeded',
        who: 'arn:aws:iam::032092706103:user/christophe',
        sourceIp: '253.243.215.253',
        userAgent: expect.stringContaining('stratus-red-team_'),
      });
      // Newest group first, and no read-only call without --include-read
      const newest = r.groups.map((g) => Date.parse(g.changes[0].time));
      expect(newest).toEqual([...newest].sort((a, b) => b - a));
      expect(r.groups.flatMap((g) => g.changes).some((c) => c.readOnly)).toBe(false);
      expect(r.from).toBe('2024-08-01T12:01:00Z');
      expect(r.to).toBe('2024-08-01T12:36:00Z');
    });
  }

  it('narrows to one resource, by its id or its ARN', async () => {
    // Act
    const byId = await changes(stratusDir, { resource: GROUP });
    const byArn = await changes(stratusDir, {
      resource: `arn:aws:ec2:us-northeast-1r:032092706103:security-group/${GROUP}`,
    });

    // Assess
    expect(byId.groups.map((g) => [g.resource, g.changes.map((c) => c.eventId)])).toEqual([
      [GROUP, [SG_EVENT]],
    ]);
    expect(byArn.groups).toEqual(byId.groups);
  });

  it('leaves the change out when it came after the window, and adds read-only calls only when asked', async () => {
    // Act
    const before = await changes(stratusDir, { at: '2024-08-01T12:15:00Z' });
    const withReads = await changes(stratusDir, { includeRead: true });
    const without = await changes(stratusDir);

    // Assess
    expect(before.groups.some((g) => g.resource === GROUP)).toBe(false);
    const reads = withReads.groups.flatMap((g) => g.changes).filter((c) => c.readOnly);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((c) => /^(Get|List|Describe|Head|Lookup)/.test(c.eventName) || c.readOnly)).toBe(true);
    const count = (j: Json) => new Set(j.groups.flatMap((g) => g.changes.map((c) => c.eventId))).size;
    expect(count(withReads)).toBe(count(without) + new Set(reads.map((c) => c.eventId)).size);
  });

  it('prints groups as text and refuses a bad window through the command line', async () => {
    // Act
    const text = await runCli(['changes', '--source', stratusDir, '--at', AT, '--window', '10m']);
    const bad = await runCli(['changes', '--source', stratusDir, '--at', AT, '--window', 'soon']);

    // Assess
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `\n${GROUP}  (1 change)\n  2024-08-01T12:23:55Z  ec2:AuthorizeSecurityGroupIngress  succeeded\n`,
    );
    expect(text.stdout).toContain(`event ${SG_EVENT} (032092706103, us-northeast-1r)`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      "trailwatch: --window: expected a length of time such as 30m, 2h or 1d, found 'soon'\n",
    );
  });
});
