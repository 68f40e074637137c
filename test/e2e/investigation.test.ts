/**
 * The investigator's question on real records: "this instance / trail / user / bucket was changed: who did
 * it, when, from where, with which credentials, through which client?" The detonation logs are laid out as
 * an organization trail; `trailwatch lookup --resource-name` answers from the log files alone, and the
 * answer is checked against the raw record of each event (event IDs written out).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { commandOptions, type RawOptions, runLookup } from '#cli/commands/lookup.ts';
import type { LookupRow } from '#cli/lookup/row.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { allStratusRecords, writeTrail } from '#test/fixtures/lookup/trail.ts';

const records = allStratusRecords();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'investigation-'));
  await writeTrail(new FsObjectStore(dir), records, { prefix: 'org/', orgId: 'o-a1b2c3d4e5' });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lookup(options: Partial<RawOptions>): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  await runLookup(commandOptions({ source: dir, output: 'table', concurrency: 4, ...options }), io);
  return { stdout, stderr };
}

async function rows(options: Partial<RawOptions>): Promise<(LookupRow & { record: CloudTrailRecord })[]> {
  const { stdout } = await lookup({ ...options, output: 'json' });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const raw = (id: string) => records.find((r) => r.eventID === id)!;

/** What the answer must say about the event, read from the raw record. */
function expectAnswer(row: LookupRow, id: string): void {
  const r = raw(id);
  expect(row).toMatchObject({
    eventID: id,
    eventName: r.eventName,
    eventTime: r.eventTime,
    sourceIPAddress: r.sourceIPAddress,
    userAgent: r.userAgent,
    accessKeyId: r.userIdentity!.accessKeyId,
    principalArn: r.userIdentity!.arn,
    principalType: r.userIdentity!.type,
    sessionIssuer: r.userIdentity!.sessionContext?.sessionIssuer?.arn ?? null,
  });
}

const CASES = [
  {
    what: 'who stopped instance i-DDd6c7B0e18F0E35f',
    filter: { resourceName: 'i-DDd6c7B0e18F0E35f', readOnly: false },
    // Stopped, its user data replaced, started again: three writes, by one user with one key.
    events: [
      'd373b5dd-6a82-439d-bdcf-4e6c7c7a9292',
      'f634894e-d625-4b7b-b1c1-50354cc1100e',
      '55e470c0-611d-4549-ad87-a7c830a75063',
    ],
    stopped: 'd373b5dd-6a82-439d-bdcf-4e6c7c7a9292',
  },
  {
    what: 'who stopped logging on trail stratus-red-team-ct-stop-trail-buykxbqejv',
    filter: {
      resourceName: 'stratus-red-team-ct-stop-trail-buykxbqejv',
      resourceType: 'AWS::CloudTrail::Trail',
    },
    events: ['10163ed2-2253-469d-a5ee-cbc6651f8934'],
    stopped: '10163ed2-2253-469d-a5ee-cbc6651f8934',
  },
  {
    what: 'who deleted trail stratus-red-team-cloudtraild-trail-kvrwohmiai',
    filter: { resourceName: 'stratus-red-team-cloudtraild-trail-kvrwohmiai' },
    events: ['ee73c230-44bc-4492-8542-cfb189eae287'],
    stopped: 'ee73c230-44bc-4492-8542-cfb189eae287',
  },
  {
    what: 'who created, empowered and keyed user malicious-iam-user',
    filter: { resourceName: 'malicious-iam-user', resourceType: 'AWS::IAM::User' },
    // AttachUserPolicy, CreateUser, CreateAccessKey in the same second: ordered by event ID.
    events: [
      '083dc4ad-e264-46bc-a407-d0dd31b58bdc',
      '3346344c-5a3e-429e-8405-420f98f75d6e',
      '94faedcc-0fa4-46e6-9322-022e8e934f04',
    ],
    stopped: '083dc4ad-e264-46bc-a407-d0dd31b58bdc',
  },
  {
    what: 'who deleted the DNS query logging into bucket stratus-red-team-dns-delete-bucket-bxxclslsdp',
    filter: {
      resourceName: 'stratus-red-team-dns-delete-bucket-bxxclslsdp',
      resourceType: 'AWS::S3::Bucket',
    },
    events: ['ba4609ca-b420-4cb6-bdff-307729b3b7db'],
    stopped: 'ba4609ca-b420-4cb6-bdff-307729b3b7db',
  },
];

describe('who did what to which resource, on real records', () => {
  it.each(CASES)('$what', async (c) => {
    // Act
    const found = await rows(c.filter);
    const table = await lookup({ ...c.filter, detail: true });
    // Assess: the events, in time order, each answered from its own record
    expect(found.map((r) => r.eventID)).toEqual(c.events);
    for (const row of found) expectAnswer(row, row.eventID!);
    const r = raw(c.stopped);
    const line = table.stdout.split('\n').find((l) => l.startsWith(r.eventTime!))!;
    expect(line).toBeDefined();
    for (const shown of [
      r.userIdentity!.userName!,
      r.sourceIPAddress!,
      r.userIdentity!.accessKeyId!,
      r.userAgent!,
    ]) {
      expect(line).toContain(shown);
    }
    expect(table.stdout.split('\n')[0]).toMatch(
      /^TIME .*USER .*EVENT .*RESOURCES .*SOURCE IP .*ACCESS KEY .*USER AGENT/,
    );
  });

  it('follows a session key back to the call that issued it: role, session, MFA, and the user behind it', async () => {
    // Prepare: someone tried to read the Windows password of an instance, with temporary credentials
    const attempts = await rows({ resourceName: 'i-i2jnm5swa59p4fxg', eventName: 'GetPasswordData' });
    // Act: the key they used names the AssumeRole that handed it out
    const key = attempts[0].accessKeyId!;
    const issued = await rows({ resourceName: key, resourceType: 'AWS::IAM::AccessKey' });
    const table = await lookup({ resourceName: key, detail: true });
    // Assess
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts[0]).toMatchObject({
      principalType: 'AssumedRole',
      sessionIssuer: 'arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role',
      mfaAuthenticated: false,
      errorCode: 'Client.UnauthorizedOperation',
    });
    expectAnswer(attempts[0], attempts[0].eventID!);
    expect(key).toBe('ASIANQQHHS551LWULIWD');
    expect(issued.map((r) => r.eventID)).toEqual(['fd179e25-9f1a-406c-8d7d-62f9d4938ef6']);
    expect(issued[0]).toMatchObject({
      eventName: 'AssumeRole',
      username: 'christophe',
      principalType: 'IAMUser',
    });
    expect(issued[0].resources).toContainEqual({ type: 'AWS::IAM::AccessKey', name: key });
    expect(table.stdout).toContain('christophe');
  });
});
