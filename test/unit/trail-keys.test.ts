/**
 * The key layout's parse (shared/keys.ts), on keys built as CloudTrail names its objects
 * (docs/cloudtrail-format.md section 1): what a log, Insights or digest key yields, and the names it refuses.
 */
import { describe, expect, it } from 'vitest';
import { classifyKey } from '#shared/keys.ts';

const LOG =
  'AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/05/111122223333_CloudTrail_us-east-1_20260305T2353Z_G7H0y2TtAByQ3Tvb.json.gz';
const DIGEST =
  'AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/03/05/111122223333_CloudTrail-Digest_eu-west-1_management-events_us-east-1_20260305T235959Z.json.gz';

describe('classifyKey', () => {
  it('reads a log key: its folders, and the delivery time its name carries to the minute', () => {
    // Prepare / Act
    const k = classifyKey(`trails/${LOG}`);
    // Assess: every field, in the order the object has them (no organization id).
    expect(Object.keys(k)).toEqual(['kind', 'key', 'prefix', 'account', 'region', 'day', 'time']);
    expect(k).toEqual({
      kind: 'log',
      key: `trails/${LOG}`,
      prefix: 'trails/',
      account: '111122223333',
      region: 'us-east-1',
      day: '2026/03/05',
      time: new Date('2026-03-05T23:53:00Z'),
    });
  });

  it('reads an Insights key, and an uncompressed copy of a log under the same name', () => {
    const insight = LOG.replaceAll('CloudTrail', 'CloudTrail-Insight');
    expect(classifyKey(insight)).toMatchObject({ kind: 'insight', account: '111122223333' });
    expect(classifyKey(LOG.replace('.json.gz', '.json'))).toMatchObject({ kind: 'log' });
  });

  it('reads a digest key with the seconds of its end time, and a backfill digest', () => {
    expect(classifyKey(DIGEST)).toMatchObject({
      kind: 'digest',
      region: 'eu-west-1',
      trailName: 'management-events',
      homeRegion: 'us-east-1',
      time: new Date('2026-03-05T23:59:59Z'),
      backfill: false,
    });
    expect(classifyKey(DIGEST.replace('Z.json.gz', 'Z_backfill.json.gz'))).toMatchObject({ backfill: true });
  });

  it('refuses a stamp that is no date, rather than rolling it over', () => {
    for (const stamp of ['20260231T2353Z', '20260305T2453Z', '20260305T2360Z']) {
      const k = classifyKey(LOG.replace('20260305T2353Z', stamp));
      expect(k).toEqual({
        kind: 'other',
        key: expect.any(String),
        reason: `invalid timestamp ${stamp} in file name`,
      });
    }
    // 29 February exists in a leap year only.
    expect(classifyKey(LOG.replace('20260305T2353Z', '20240229T0000Z')).kind).toBe('log');
    expect(classifyKey(LOG.replace('20260305T2353Z', '20260229T0000Z')).kind).toBe('other');
  });

  it('refuses names that disagree with their folders, and files below a day folder', () => {
    expect(classifyKey(LOG.replace('_us-east-1_', '_eu-west-1_'))).toMatchObject({
      kind: 'other',
      reason: 'file name names 111122223333/eu-west-1, folders say 111122223333/us-east-1',
    });
    expect(classifyKey(LOG.replace('G7H0y2TtAByQ3Tvb', 'short')).kind).toBe('other');
    expect(classifyKey(LOG.replace('/05/', '/05/extra/')).kind).toBe('other');
    // A digest's layout copied under a log day folder is a digest key, whatever folder it sits in.
    expect(classifyKey(`${LOG.slice(0, LOG.lastIndexOf('/') + 1)}${DIGEST}`)).toMatchObject({
      kind: 'digest',
    });
  });
});
