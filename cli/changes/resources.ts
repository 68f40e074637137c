/**
 * The resources a call acted on, as short names a person searches for (`sg-0abc`, `my-bucket`, `admin`):
 * what the shared extractor finds in the record's `resources[]`, request and response, ARNs by their
 * resource id so that a group of changes reads like the console's resource column.
 */
import { resourceId } from '#cli/lookup/filter.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { extractResources } from '#shared/resources/index.ts';

/** The resources a record names, short names first seen first; empty when it names none. */
export function resourcesOf(r: CloudTrailRecord): string[] {
  const out = new Set<string>();
  for (const { name } of extractResources(r)) out.add(name.startsWith('arn:') ? resourceId(name) : name);
  return [...out];
}
