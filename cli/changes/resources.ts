/**
 * The resources a call acted on, as short names a person searches for (`sg-0abc`, `my-bucket`, `admin`):
 * the record's `resources[]` (its ARNs, by their resource id) and the identifiers the common mutating APIs
 * carry in `requestParameters` (and, for creations, `responseElements`). Small and self-contained on purpose:
 * it is meant to be swapped for a full, data-driven extractor when one exists.
 */
import { resourceId } from '#cli/lookup/filter.ts';
import type { CloudTrailRecord } from '#shared/record.ts';

/** requestParameters (and responseElements) fields that name the resource a call acts on. */
const ID_FIELDS = [
  'groupId',
  'instanceId',
  'bucketName',
  'userName',
  'roleName',
  'groupName',
  'policyArn',
  'trailName',
  'functionName',
  'name',
  'dBInstanceIdentifier',
  'dBSnapshotIdentifier',
  'snapshotId',
  'imageId',
  'volumeId',
  'vpcId',
  'subnetId',
  'keyId',
  'secretId',
  'stackName',
  'clusterName',
  'topicArn',
  'queueUrl',
  'logGroupName',
  'target',
  'flowLogIds',
] as const;

/** Lists whose items carry identifiers: `instancesSet.items[].instanceId` and the like. */
const ID_SETS = ['instancesSet', 'groupSet', 'resourcesSet', 'flowLogIds'] as const;

function add(out: Set<string>, v: unknown): void {
  if (typeof v === 'string' && v !== '' && v.length <= 2048)
    out.add(v.startsWith('arn:') ? resourceId(v) : v);
}

function fromParameters(out: Set<string>, params: unknown): void {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return;
  const p = params as Record<string, unknown>;
  for (const f of ID_FIELDS) {
    const v = p[f];
    if (Array.isArray(v)) for (const x of v) add(out, x);
    else add(out, v);
  }
  for (const set of ID_SETS) {
    const items = (p[set] as { items?: unknown } | undefined)?.items;
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (!item || typeof item !== 'object') continue;
      const i = item as Record<string, unknown>;
      add(out, i.instanceId ?? i.groupId ?? i.resourceId ?? i.flowLogId);
    }
  }
}

/** The resources a record names, short names first seen first; empty when it names none. */
export function resourcesOf(r: CloudTrailRecord): string[] {
  const out = new Set<string>();
  if (Array.isArray(r.resources)) {
    for (const e of r.resources as unknown[]) {
      if (e && typeof e === 'object') add(out, (e as { ARN?: unknown }).ARN);
    }
  }
  fromParameters(out, r.requestParameters);
  // A creation names its new resource only in the response.
  const res = r.responseElements;
  if (
    res &&
    typeof res === 'object' &&
    typeof r.eventName === 'string' &&
    /^(Create|Run|Allocate)/.test(r.eventName)
  ) {
    fromParameters(out, res);
  }
  return [...out];
}
