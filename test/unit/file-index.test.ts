/**
 * The per-file index ingest writes: it never excludes a value a record of the file holds (on the real records),
 * its Bloom filters keep their stated false-positive rate, and anything that is not an index is refused.
 */
import { describe, expect, it } from 'vitest';
import { type LookupFilter, matchesFilter } from '#cli/lookup/filter.ts';
import { indexMayMatch } from '#cli/lookup/index-check.ts';
import {
  BLOOM_FPR,
  EXACT_MAX,
  FileIndexBuilder,
  IndexFormatError,
  mayContain,
  NEEDLE_FPR,
  parseFileIndex,
} from '#shared/logfile/file-index.ts';
import { type CloudTrailRecord, userNames } from '#shared/record.ts';
import { extractResources, nameMatches, resourceNameCandidates } from '#shared/resources/index.ts';
import { allStratusRecords } from '#test/fixtures/lookup/trail.ts';

const SOURCE = { bucket: 'trail-bucket', key: 'AWSLogs/x.json.gz', size: 100, etag: '"abc"' };

function indexOf(records: CloudTrailRecord[]) {
  const b = new FileIndexBuilder();
  for (const r of records) b.add(r);
  // Through JSON, as a reader gets it.
  return parseFileIndex(JSON.parse(JSON.stringify(b.build(SOURCE))));
}

/** The filters, one attribute each, that find the record, as a user could type them. */
function filtersFinding(r: CloudTrailRecord): LookupFilter[] {
  const out: LookupFilter[] = [];
  if (typeof r.eventName === 'string') out.push({ eventName: r.eventName });
  if (typeof r.eventSource === 'string') out.push({ eventSource: r.eventSource });
  if (typeof r.eventID === 'string') out.push({ eventId: r.eventID });
  const key = r.userIdentity?.accessKeyId;
  if (typeof key === 'string') out.push({ accessKeyId: key });
  for (const username of userNames(r)) {
    out.push({ username });
    if (typeof r.eventName === 'string') out.push({ username, eventName: r.eventName });
  }
  // Every resource the extractor finds, by every name that finds it: the whole name and each end of it.
  for (const { name, type } of extractResources(r)) {
    for (let i = 0; i < name.length; i++) {
      const resourceName = name.slice(i);
      if (nameMatches(name, resourceName)) out.push({ resourceName }, { resourceName, resourceType: type });
    }
  }
  if (typeof r.eventTime === 'string') {
    const t = new Date(r.eventTime);
    out.push({ startTime: t, endTime: t });
  }
  out.push({ readOnly: r.readOnly === true });
  return out.filter((f) => matchesFilter(r, f));
}

describe('the per-file index', () => {
  const records = allStratusRecords();

  it('never rules out a file for a filter one of its real records matches', () => {
    // Prepare: files of 200 real records, so that every field goes past the exact list into a Bloom filter.
    let checked = 0;
    for (let i = 0; i < records.length; i += 200) {
      const file = records.slice(i, i + 200);
      const index = indexOf(file);

      // Act / Assess
      for (const r of file) {
        for (const f of filtersFinding(r)) {
          expect(indexMayMatch(index, f), `record ${r.eventID}: ${JSON.stringify(f)}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(records.length * 5);
  });

  it('holds the resources the extractor finds in requests, not only in resources[]', () => {
    // Prepare: real records whose resources come from the request alone.
    const fromRequest = records.filter((r) => !Array.isArray(r.resources) && extractResources(r).length > 0);
    const index = indexOf(fromRequest.slice(0, 200));

    // Act
    const names = fromRequest.slice(0, 200).flatMap((r) => extractResources(r).map((res) => res.name));

    // Assess
    expect(names.length).toBeGreaterThan(20);
    for (const resourceName of names) expect(indexMayMatch(index, { resourceName })).toBe(true);
    expect(indexMayMatch(index, { resourceName: 'no-such-resource-anywhere' })).toBe(false);
  });

  it('takes every resource name the extractor finds, from the cheaper walk it builds the index with', () => {
    // Prepare
    const records = allStratusRecords();
    let checked = 0;
    for (const r of records) {
      const candidates = new Set<string>();

      // Act
      resourceNameCandidates(r, (name) => candidates.add(name));

      // Assess
      for (const res of extractResources(r)) {
        expect(candidates.has(res.name), `${r.eventID}: ${res.name}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(records.length / 2);
  });

  it('does not go by resource names extracted with other resource tables', () => {
    // Prepare: an index whose names another release's tables extracted.
    const file = records.slice(0, 50);
    const other = { ...indexOf(file), resourceRules: 'another-release' };

    // Act / Assess: a name the index lacks is not trusted to be absent.
    expect(indexMayMatch(indexOf(file), { resourceName: 'no-such-resource-anywhere' })).toBe(false);
    expect(indexMayMatch(other, { resourceName: 'no-such-resource-anywhere' })).toBe(true);
  });

  it('rules out files that hold no such value, with exact lists and with Bloom filters alike', () => {
    // Prepare
    const file = records.slice(0, 300);
    const index = indexOf(file);

    // Act
    const absent = Array.from({ length: 20_000 }, (_, i) => `no-such-value-${i}`);
    const falsePositives = absent.filter((v) => indexMayMatch(index, { eventId: v })).length;
    const resourcePositives = absent.filter((v) => indexMayMatch(index, { resourceName: v })).length;

    // Assess
    expect('bloom' in index.fields.eventIds).toBe(true);
    expect('bloom' in index.fields.resources).toBe(true);
    expect('values' in index.fields.eventSources).toBe(true);
    expect(indexMayMatch(index, { eventSource: 'no-such.amazonaws.com' })).toBe(false);
    expect(indexMayMatch(index, { username: 'nobody-at-all' })).toBe(false);
    expect(indexMayMatch(index, { startTime: new Date('2030-01-01T00:00:00Z') })).toBe(false);
    // Sized for their rates: twice the rate over 20,000 probes would be far outside chance.
    expect(falsePositives / absent.length).toBeLessThan(NEEDLE_FPR * 2);
    expect(resourcePositives / absent.length).toBeLessThan(BLOOM_FPR * 2);
  });

  describe('pairs of caller and event name', () => {
    /** A real IAM user's record, made to be `userName` calling `eventName`. */
    const iamUser = records.find((r) => r.userIdentity?.type === 'IAMUser' && r.userIdentity.userName);
    function call(userName: string, eventName: string, i = 0): CloudTrailRecord {
      if (!iamUser) throw new Error('expected a real IAMUser record among the Stratus fixtures');
      const u = iamUser.userIdentity ?? {};
      return {
        ...iamUser,
        eventID: `pair-${userName}-${eventName}-${i}`,
        eventName,
        userIdentity: { ...u, userName, arn: `arn:aws:iam::111122223333:user/${userName}` },
      };
    }
    const crossed = { username: 'alice', eventName: 'RunInstances' };
    const paired = { username: 'alice', eventName: 'DescribeInstances' };

    it('rules out a file where the user and the event name occur in different records only', () => {
      // Prepare
      const index = indexOf([call('alice', 'DescribeInstances'), call('bob', 'RunInstances')]);

      // Act / Assess: each value alone is in the file, the pair is not.
      expect('values' in (index.fields.userEvents ?? {})).toBe(true);
      expect(indexMayMatch(index, { username: 'alice' })).toBe(true);
      expect(indexMayMatch(index, { eventName: 'RunInstances' })).toBe(true);
      expect(indexMayMatch(index, crossed)).toBe(false);
      expect(indexMayMatch(index, paired)).toBe(true);
    });

    it('does so with a Bloom filter when the file holds more pairs than an exact list keeps', () => {
      // Prepare: every one of 40 users calls one event name of their own, alice only DescribeInstances.
      const file = [
        call('alice', 'DescribeInstances'),
        ...Array.from({ length: EXACT_MAX + 8 }, (_, i) =>
          call(`user-${i}`, i === 0 ? 'RunInstances' : `Call${i}`),
        ),
      ];
      const index = indexOf(file);

      // Act
      const others = Array.from({ length: EXACT_MAX + 8 }, (_, i) => ({
        username: 'alice',
        eventName: `Call${i}`,
      }));

      // Assess
      expect('bloom' in (index.fields.userEvents ?? {})).toBe(true);
      expect(indexMayMatch(index, paired)).toBe(true);
      for (const r of file)
        expect(
          indexMayMatch(index, {
            username: String(r.userIdentity?.userName),
            eventName: String(r.eventName),
          }),
        ).toBe(true);
      expect(indexMayMatch(index, crossed)).toBe(false);
      // At most a false positive or two out of 40 (BLOOM_FPR), not all of them.
      expect(others.filter((f) => indexMayMatch(index, f)).length).toBeLessThan(4);
    });

    it('reads a file whose index was written before pairs were kept', () => {
      // Prepare: the same file, its index without the pair field, as older releases wrote it.
      const index = JSON.parse(
        JSON.stringify(indexOf([call('alice', 'DescribeInstances'), call('bob', 'RunInstances')])),
      );
      delete index.fields.userEvents;

      // Act
      const old = parseFileIndex(index);

      // Assess
      expect(old.fields.userEvents).toBeUndefined();
      expect(indexMayMatch(old, crossed)).toBe(true);
      expect(indexMayMatch(old, { username: 'carol', eventName: 'RunInstances' })).toBe(false);
    });
  });

  it('keeps up to EXACT_MAX values as they are and answers exactly for them', () => {
    // Prepare
    const few = Array.from({ length: EXACT_MAX }, (_, i) => ({ eventID: `id-${i}` }));
    const many = Array.from({ length: EXACT_MAX + 1 }, (_, i) => ({ eventID: `id-${i}` }));

    // Act
    const exact = indexOf(few).fields.eventIds;
    const bloom = indexOf(many).fields.eventIds;

    // Assess
    expect(exact).toEqual({ values: few.map((r) => r.eventID).sort() });
    expect('bloom' in bloom && bloom.count).toBe(EXACT_MAX + 1);
    for (const r of many) expect(mayContain(bloom, r.eventID)).toBe(true);
  });

  it.each([
    ['another schema', (o: Record<string, unknown>) => ({ ...o, schema: 'trailwatch.index/0' })],
    ['no source', (o: Record<string, unknown>) => ({ ...o, source: undefined })],
    ['a time range of text', (o: Record<string, unknown>) => ({ ...o, timeRange: ['a', 'b'] })],
    [
      'a Bloom filter shorter than its bits',
      (o: Record<string, unknown>) => ({
        ...o,
        fields: {
          ...(o.fields as object),
          eventIds: { bloom: 'AAAA', bits: 800, hashes: 7, count: 80 },
        },
      }),
    ],
    [
      'a Bloom filter of the right length holding a character base64 has not',
      (o: Record<string, unknown>) => ({
        ...o,
        fields: {
          ...(o.fields as object),
          eventIds: { bloom: `${'A'.repeat(133)}!==`, bits: 800, hashes: 7, count: 80 },
        },
      }),
    ],
    [
      'a field that is neither list nor filter',
      (o: Record<string, unknown>) => ({ ...o, fields: { ...(o.fields as object), users: 'alice' } }),
    ],
  ])('refuses an index with %s', (_what, spoil) => {
    // Prepare
    const good = JSON.parse(JSON.stringify(indexOf(records.slice(0, 50)))) as Record<string, unknown>;

    // Act / Assess
    expect(() => parseFileIndex(spoil(good))).toThrow(IndexFormatError);
  });
});
