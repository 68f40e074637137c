import { CloudTrailClient, ListPublicKeysCommand } from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudTrailPublicKeySource } from '#shared/adapters/cloudtrail-public-keys.ts';
import { DigestError } from '#shared/digest/errors.ts';
import { testKey } from '#test/fixtures/digest/build.ts';

const cloudtrail = mockClient(CloudTrailClient);
afterEach(() => {
  cloudtrail.reset();
});

const entry = (n: number, from: string, to: string) => ({
  Value: testKey(n).pkcs1,
  ValidityStartTime: new Date(from),
  ValidityEndTime: new Date(to),
  Fingerprint: testKey(n).fingerprint,
});

describe('CloudTrailPublicKeySource', () => {
  it('follows every page of ListPublicKeys in the region asked', async () => {
    // Prepare
    cloudtrail
      .on(ListPublicKeysCommand)
      .resolvesOnce({
        PublicKeyList: [entry(0, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z')],
        NextToken: 'page2',
      })
      .resolvesOnce({ PublicKeyList: [entry(1, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z')] });
    const source = new CloudTrailPublicKeySource();

    // Act
    const keys = await source.publicKeys(
      'eu-west-1',
      new Date('2026-03-30T10:00:00Z'),
      new Date('2026-04-02T10:00:00Z'),
    );

    // Assess
    expect(keys.map((k) => k.fingerprint)).toEqual([testKey(0).fingerprint, testKey(1).fingerprint]);
    const calls = cloudtrail.commandCalls(ListPublicKeysCommand);
    expect(calls).toHaveLength(2);
    // The paginator reuses one input object, so only the range can be checked on the first call.
    expect(calls[0].args[0].input).toMatchObject({
      StartTime: new Date('2026-03-30T00:00:00Z'),
      EndTime: new Date('2026-04-03T00:00:00Z'),
    });
    expect(calls[1].args[0].input).toMatchObject({ NextToken: 'page2' });
    expect(await calls[0].thisValue.config.region()).toBe('eu-west-1');
  });

  it('answers later questions about the same days from its cache, filtered to the range', async () => {
    // Prepare
    cloudtrail.on(ListPublicKeysCommand).resolves({
      PublicKeyList: [
        entry(0, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'),
        entry(1, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z'),
      ],
    });
    const source = new CloudTrailPublicKeySource();
    await source.publicKeys('us-east-1', new Date('2026-03-31T01:00:00Z'), new Date('2026-04-01T05:00:00Z'));

    // Act
    const march = await source.publicKeys(
      'us-east-1',
      new Date('2026-03-31T02:00:00Z'),
      new Date('2026-03-31T03:00:00Z'),
    );

    // Assess
    expect(march.map((k) => k.fingerprint)).toEqual([testKey(0).fingerprint]);
    expect(cloudtrail.commandCalls(ListPublicKeysCommand)).toHaveLength(1);
  });

  it('throws DigestError on failure and asks again next time', async () => {
    // Prepare
    cloudtrail
      .on(ListPublicKeysCommand)
      .rejectsOnce(new Error('UnrecognizedClientException'))
      .resolves({ PublicKeyList: [entry(0, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z')] });
    const source = new CloudTrailPublicKeySource();
    const range = [new Date('2026-03-10T00:00:00Z'), new Date('2026-03-10T02:00:00Z')] as const;

    // Act
    const first = source.publicKeys('us-east-1', ...range);
    await expect(first).rejects.toThrow(DigestError);
    const second = await source.publicKeys('us-east-1', ...range);

    // Assess
    await expect(first).rejects.toThrow(/ListPublicKeys in us-east-1 .* failed: UnrecognizedClientException/);
    expect(second).toHaveLength(1);
    expect(cloudtrail.commandCalls(ListPublicKeysCommand)).toHaveLength(2);
  });
});
