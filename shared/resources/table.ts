/**
 * The shape of a resource table: for one AWS service, which fields of a management event name which
 * resources. A table is data (paths into the record), so the same table drives the in-memory extractor and
 * the SQL an engine such as Athena runs over the same records.
 */

/** A resource an event names, as CloudTrail's Event history shows it: a CloudFormation type and a name. */
export interface ResourceRef {
  /** A CloudFormation resource type, e.g. `AWS::EC2::Instance` (see README for the few that have none). */
  type: string;
  /** The id, name or ARN as the record writes it. */
  name: string;
}

/**
 * One kind of resource and where events write it.
 *
 * A path is dotted field names from the record's root; `[]` after a name walks every element of an array
 * there (a single object where an array was expected counts as one element, as EC2's XML-born records
 * sometimes write one), and a path that ends on an array of strings yields each string.
 */
export interface ResourceRule {
  type: string;
  paths: readonly string[];
  /**
   * Only events with these names (exact), or whose name matches this pattern; all of the service's events
   * when omitted. Patterns use the syntax JavaScript, Trino (Athena) and RE2 (DuckDB) share: no lookaround.
   */
  events?: readonly string[] | RegExp;
  /** Only values that match this pattern (EC2 ids by prefix, KMS keys versus aliases). Same syntax. */
  match?: RegExp;
}

export interface ServiceTable {
  /** The `eventSource` of the service's records. */
  eventSource: string;
  rules: readonly ResourceRule[];
}
