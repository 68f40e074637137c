import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { demoScenario, generateTrail, type InjectedBurst, type TrailScenario } from '#cli/generator/index.ts';
import { readAll } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';

/** Short scenarios with nothing but the steady traffic, unless a test switches something on. */
const base: TrailScenario = {
  ...demoScenario,
  seed: 21,
  start: '2026-03-05T09:00:00Z', // a Thursday
  hours: 2,
  regions: ['eu-west-1'],
  eventsPerMinute: 20,
  digests: false,
  recurringDeployBurst: false,
  securityEvents: false,
  bursts: [],
};

async function allRecords(s: TrailScenario): Promise<CloudTrailRecord[]> {
  const store = new MemoryObjectStore();
  const trail = await generateTrail(s, store);
  const out: CloudTrailRecord[] = [];
  for (const d of trail.deliveries) {
    if (d.kind !== 'log') continue;
    const recs = (
      JSON.parse(gunzipSync(await readAll(store, d.key)).toString('utf8')) as { Records: CloudTrailRecord[] }
    ).Records;
    out.push(...recs);
  }
  return out;
}

function perMinute(
  records: CloudTrailRecord[],
  match: (r: CloudTrailRecord) => boolean,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records) {
    if (!match(r)) continue;
    const m = r.eventTime!.slice(0, 16);
    out.set(m, (out.get(m) ?? 0) + 1);
  }
  return out;
}

const ids = (records: CloudTrailRecord[]) => records.map((r) => r.eventID!).sort();

describe('injected bursts', () => {
  it('add exactly perMinute failing calls in each minute of the burst and nothing elsewhere', async () => {
    // Prepare
    const burst: InjectedBurst = {
      region: 'eu-west-1',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'RunInstances',
      start: '2026-03-05T09:40:00Z',
      minutes: 6,
      perMinute: 7,
      errorCode: 'Client.UnauthorizedOperation',
      principalArn: 'arn:aws:sts::111122223333:assumed-role/web-app-instance-role/i-0123456789abcdef0',
      sourceIPAddress: '198.51.100.99',
    };
    const isApi = (r: CloudTrailRecord) => r.eventName === 'RunInstances';

    // Act
    const without = await allRecords(base);
    const withBurst = await allRecords({ ...base, bursts: [burst] });

    // Assess
    const a = perMinute(without, isApi);
    const b = perMinute(withBurst, isApi);
    const minutes = new Set([...a.keys(), ...b.keys()]);
    for (let i = 0; i < 6; i++) minutes.add(`2026-03-05T09:${40 + i}`);
    for (const m of minutes) {
      const inBurst = m >= '2026-03-05T09:40' && m < '2026-03-05T09:46';
      expect((b.get(m) ?? 0) - (a.get(m) ?? 0)).toBe(inBurst ? 7 : 0);
    }
    const extra = withBurst.filter((r) => r.sourceIPAddress === '198.51.100.99');
    expect(extra).toHaveLength(42);
    for (const r of extra) {
      expect(r.errorCode).toBe('Client.UnauthorizedOperation');
      expect(r.errorMessage).toContain('not authorized');
      expect(r.userIdentity?.arn).toBe(burst.principalArn);
      expect(r.userIdentity?.type).toBe('AssumedRole');
      expect(r.readOnly).toBe(false);
      expect(r.responseElements).toBeNull();
    }
    // The steady traffic is untouched: every earlier call is still there, unchanged.
    const before = new Map(without.map((r) => [r.eventID, JSON.stringify(r)]));
    const after = new Map(withBurst.map((r) => [r.eventID, JSON.stringify(r)]));
    for (const [id, text] of before) expect(after.get(id)).toBe(text);
  });

  it('records an API the catalog does not know, with the readOnly flag it is given', async () => {
    // Prepare
    const burst: InjectedBurst = {
      eventSource: 'bedrock.amazonaws.com',
      eventName: 'InvokeModel',
      start: '2026-03-05T10:00:00Z',
      minutes: 3,
      perMinute: 4,
      readOnly: true,
    };

    // Act
    const recs = await allRecords({ ...base, bursts: [burst] });

    // Assess
    const counts = perMinute(recs, (r) => r.eventSource === 'bedrock.amazonaws.com');
    expect([...counts.entries()].sort()).toEqual([
      ['2026-03-05T10:00', 4],
      ['2026-03-05T10:01', 4],
      ['2026-03-05T10:02', 4],
    ]);
    for (const r of recs.filter((x) => x.eventName === 'InvokeModel')) {
      expect(r.readOnly).toBe(true);
      expect(r.errorCode).toBeUndefined();
      expect(r.awsRegion).toBe('eu-west-1');
    }
  });
});

describe('weekday deploy burst', () => {
  const deployApis = new Set(['UpdateStack', 'UpdateFunctionCode20150331v2', 'UpdateService']);

  it('raises the deploy calls at 10:00-10:15 UTC on a weekday, and only then', async () => {
    // Prepare
    const s = { ...base, eventsPerMinute: 30 };

    // Act
    const off = await allRecords(s);
    const on = await allRecords({ ...s, recurringDeployBurst: true });

    // Assess
    const offIds = new Set(ids(off));
    const extra = on.filter((r) => !offIds.has(r.eventID!));
    expect(extra.length).toBeGreaterThanOrEqual(15);
    for (const r of extra) {
      expect(deployApis.has(r.eventName!)).toBe(true);
      expect(r.eventTime! >= '2026-03-05T10:00:00Z' && r.eventTime! < '2026-03-05T10:15:00Z').toBe(true);
      expect(r.userIdentity?.userName).toBe('ci-deploy');
      expect(r.readOnly).toBe(false);
    }
    // 15-20 times the usual rate: the 15 minutes of the window outnumber the steady hour before them.
    const usual = off.filter(
      (r) => deployApis.has(r.eventName!) && r.eventTime! < '2026-03-05T10:00:00Z',
    ).length;
    expect(extra.length).toBeGreaterThan(2 * usual);
  });

  it('is absent on a weekend', async () => {
    // Prepare
    const saturday = { ...base, start: '2026-03-07T09:00:00Z' };

    // Act
    const off = await allRecords(saturday);
    const on = await allRecords({ ...saturday, recurringDeployBurst: true });

    // Assess
    expect(off.length).toBeGreaterThan(100);
    expect(ids(on)).toEqual(ids(off));
  });
});

describe('traffic rhythm', () => {
  it('is busier in weekday business hours than at night, and quieter on the weekend', async () => {
    // Prepare: Friday and Saturday
    const s = { ...base, start: '2026-03-06T00:00:00Z', hours: 48, eventsPerMinute: 10 };

    // Act
    const recs = await allRecords(s);

    // Assess
    const perHour = new Map<string, number>();
    for (const r of recs)
      perHour.set(r.eventTime!.slice(0, 13), (perHour.get(r.eventTime!.slice(0, 13)) ?? 0) + 1);
    const sum = (day: string, from: number, to: number) => {
      let n = 0;
      for (let h = from; h < to; h++) n += perHour.get(`${day}T${String(h).padStart(2, '0')}`) ?? 0;
      return n;
    };
    const fridayDay = sum('2026-03-06', 10, 16) / 6;
    const fridayNight = sum('2026-03-06', 0, 5) / 5;
    const friday = sum('2026-03-06', 0, 24);
    const saturday = sum('2026-03-07', 0, 24);
    expect(fridayDay / 60).toBeGreaterThan(s.eventsPerMinute * 0.7);
    expect(fridayDay / 60).toBeLessThan(s.eventsPerMinute * 1.2);
    expect(fridayDay).toBeGreaterThan(2.5 * fridayNight);
    expect(friday).toBeGreaterThan(1.8 * saturday);
    expect(fridayNight).toBeGreaterThan(0);
  });
});

describe('security events', () => {
  it('sprinkle the rule-demo events over the trail when switched on', async () => {
    // Prepare
    const s = {
      ...base,
      regions: ['us-east-1', 'eu-west-1'],
      hours: 6,
      eventsPerMinute: 4,
      securityEvents: true,
    };

    // Act
    const on = await allRecords(s);
    const off = await allRecords({ ...s, securityEvents: false });

    // Assess
    const named = (recs: CloudTrailRecord[], name: string) => recs.filter((r) => r.eventName === name);
    expect(named(on, 'StopLogging')).toHaveLength(1);
    const stop = named(on, 'StopLogging')[0];
    const start = named(on, 'StartLogging').find((r) => r.eventTime! > stop.eventTime!);
    expect(start).toBeDefined();
    const rootLogin = on.find((r) => r.eventName === 'ConsoleLogin' && r.userIdentity?.type === 'Root');
    expect(rootLogin?.additionalEventData?.MFAUsed).toBe('No');
    expect(rootLogin?.responseElements?.ConsoleLogin).toBe('Success');
    expect(rootLogin?.awsRegion).toBe('us-east-1');
    const failed = on.filter(
      (r) => r.eventName === 'ConsoleLogin' && r.errorMessage === 'Failed authentication',
    );
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.every((r) => r.responseElements?.ConsoleLogin === 'Failure')).toBe(true);
    const noMfaUser = on.find(
      (r) =>
        r.eventName === 'ConsoleLogin' &&
        r.userIdentity?.type === 'IAMUser' &&
        r.additionalEventData?.MFAUsed === 'No' &&
        r.responseElements?.ConsoleLogin === 'Success',
    );
    expect(noMfaUser).toBeDefined();
    const ingress = named(on, 'AuthorizeSecurityGroupIngress');
    expect(JSON.stringify(ingress[0].requestParameters)).toContain('0.0.0.0/0');
    expect(named(on, 'PutBucketPolicy').length).toBeGreaterThanOrEqual(1);
    expect(named(on, 'CreateUser')).toHaveLength(1);
    expect(named(on, 'AttachUserPolicy')[0].requestParameters?.policyArn).toBe(
      'arn:aws:iam::aws:policy/AdministratorAccess',
    );
    for (const name of ['StopLogging', 'CreateUser', 'AttachUserPolicy', 'AuthorizeSecurityGroupIngress']) {
      expect(named(off, name)).toHaveLength(0);
    }
    expect(off.some((r) => r.userIdentity?.type === 'Root' && r.additionalEventData?.MFAUsed === 'No')).toBe(
      false,
    );
  });
});
