/** Log files named `.json` (uncompressed, as public datasets ship them) go the way of `.json.gz` ones. */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { classifyKey, digestFileKey, logFileKey } from '#shared/keys.ts';
import { LogFormatError, readLogRecords } from '#shared/logfile/read.ts';
import { summaryKeyFor } from '#shared/pipeline/ingest-log-files.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { stratusRecords } from '#test/support/logfiles.ts';

const at = { account: '111122223333', region: 'us-east-1', time: new Date('2026-11-20T10:05:00Z') };
const gzKey = logFileKey({ ...at, unique: 'Ab3dEf6hIj9kLm0n' });
const jsonKey = gzKey.replace(/\.json\.gz$/, '.json');

async function read(bytes: Buffer): Promise<CloudTrailRecord[]> {
  const out: CloudTrailRecord[] = [];
  for await (const batch of readLogRecords(Readable.from([bytes]), { compression: 'auto' }))
    out.push(...batch);
  return out;
}

describe('.json log files', () => {
  it('are CloudTrail log and Insights files by name, while a digest must stay .json.gz', () => {
    // Prepare
    const insightKey = logFileKey({
      ...at,
      folder: 'CloudTrail-Insight',
      unique: 'Ab3dEf6hIj9kLm0n',
    }).replace(/\.gz$/, '');
    const digest = digestFileKey({ ...at, trailName: 't', homeRegion: 'us-east-1', endTime: at.time });
    // Act
    const kinds = [gzKey, jsonKey, insightKey, digest, digest.replace(/\.gz$/, ''), `${jsonKey}.txt`].map(
      (k) => classifyKey(k).kind,
    );
    // Assess
    expect(kinds).toEqual(['log', 'log', 'insight', 'digest', 'other', 'other']);
    expect(classifyKey(jsonKey)).toMatchObject({
      account: '111122223333',
      region: 'us-east-1',
      time: at.time,
    });
  });

  it('get a summary key of their own, apart from the .json.gz file of the same name', () => {
    // Act
    const gz = summaryKeyFor('trail', gzKey);
    const json = summaryKeyFor('trail', jsonKey);
    // Assess
    expect(gz).toBe(`summaries/trail/${gzKey.slice(0, -'.json.gz'.length)}.summary.json`);
    expect(json).toBe(`summaries/trail/${jsonKey.slice(0, -'.json'.length)}.uncompressed.summary.json`);
  });

  it('are read as they are, gzip or not, and bytes that are neither are refused with both named', async () => {
    // Prepare: real records of a detonation
    const records = stratusRecords('aws.defense-evasion.cloudtrail-stop');
    const doc = JSON.stringify({ Records: records });
    // Act
    const plain = await read(Buffer.from(doc));
    const gzipped = await read(gzipSync(doc));
    const garbage = read(Buffer.from('PK\x03\x04 a zip archive'));
    // Assess
    expect(plain).toEqual(records);
    expect(gzipped).toEqual(records);
    await expect(garbage).rejects.toBeInstanceOf(LogFormatError);
    await expect(garbage).rejects.toThrow(
      'neither gzip nor JSON: expected the gzip bytes 1f8b or a JSON document, found the bytes 504b0304',
    );
  });
});
