/**
 * Resources a CloudTrail record names, the way CloudTrail's Event history lists them: derived from the
 * request and the response by the service tables ({@link TABLES}), plus the record's own `resources`
 * array (which CloudTrail writes for few services: S3, KMS, STS, SSM among them).
 *
 * Records are untrusted: fields of an unexpected type count as absent, and the work is bounded (a path
 * walks at most {@link MAX_ELEMENTS} array elements at each step, a record yields at most
 * {@link MAX_RESOURCES} resources, a name longer than {@link MAX_NAME_CHARS} is skipped).
 */
import { type CloudTrailRecord, objectOf, textOf } from '../record.ts';
import { TABLES } from './services/all-services.ts';
import type { ResourceRef, ResourceRule } from './table.ts';

export const MAX_RESOURCES = 200;
export const MAX_ELEMENTS = 200;
export const MAX_NAME_CHARS = 2048;

interface Step {
  key: string;
  each: boolean;
}

/** `requestParameters.instancesSet.items[].instanceId` as steps. */
export function parsePath(path: string): Step[] {
  return path.split('.').map((part) => {
    const each = part.endsWith('[]');
    return { key: each ? part.slice(0, -2) : part, each };
  });
}

/** The strings a path reaches in a value (see {@link ResourceRule} for the path syntax). */
export function valuesAt(root: unknown, steps: readonly Step[]): string[] {
  // One value down the path until a step fans out over an array: most paths never do, and then no list is
  // built at each step (a lookup runs every path of the service's rules on every record it shows).
  let v = root;
  let at = 0;
  for (; at < steps.length; at++) {
    const step = steps[at];
    const o = objectOf(v);
    if (!o || !Object.hasOwn(o, step.key)) return [];
    const child = o[step.key];
    if (step.each && Array.isArray(child)) break;
    v = child;
  }
  if (at === steps.length && !Array.isArray(v))
    return typeof v === 'string' && v !== '' && v.length <= MAX_NAME_CHARS ? [v] : [];
  let level: unknown[] = [v];
  for (const step of steps.slice(at)) {
    const next: unknown[] = [];
    for (const v of level) {
      const o = objectOf(v);
      if (!o || !Object.hasOwn(o, step.key)) continue;
      const child = o[step.key];
      if (step.each && Array.isArray(child)) next.push(...child.slice(0, MAX_ELEMENTS));
      else next.push(child);
    }
    level = next;
    if (level.length === 0) return [];
  }
  const out: string[] = [];
  for (const v of level) {
    if (Array.isArray(v)) {
      for (const e of v.slice(0, MAX_ELEMENTS)) if (typeof e === 'string') out.push(e);
    } else if (typeof v === 'string') out.push(v);
  }
  return out.filter((s) => s !== '' && s.length <= MAX_NAME_CHARS);
}

/** Whether a rule's event filter admits an event name. */
export function ruleApplies(rule: ResourceRule, eventName: string): boolean {
  const e = rule.events;
  if (e === undefined) return true;
  return e instanceof RegExp ? e.test(eventName) : e.includes(eventName);
}

interface CompiledRule extends ResourceRule {
  steps: Step[][];
}

const bySource = new Map<string, CompiledRule[]>();
for (const table of TABLES) {
  const rules = bySource.get(table.eventSource) ?? [];
  for (const rule of table.rules) rules.push({ ...rule, steps: rule.paths.map(parsePath) });
  bySource.set(table.eventSource, rules);
}

/**
 * Whether a resource called `name` is the one a record writes as `value`: the same text, or the end of
 * an ARN, URL or path after a `/` or `:` (`admin` and `role/admin` name `arn:aws:iam::1:role/admin`;
 * `/app/db` names `arn:aws:ssm:r:1:parameter/app/db`). Exact
 * and case-sensitive, as Event history's attribute values are; a part of a name is not the name.
 */
export function nameMatches(value: string, name: string): boolean {
  if (value === name) return true;
  if (value.length <= name.length || !value.endsWith(name)) return false;
  // `/path/name` (an SSM parameter) ends `arn:…:parameter/path/name` with its own separator.
  const sep = name[0] === '/' || name[0] === ':' ? name[0] : value[value.length - name.length - 1];
  return sep === '/' || sep === ':';
}

/** `AWS::<Service>::<Type>` of an ARN's service and resource type, for `resources[]` entries without a type. */
export const ARN_TYPES: Record<string, string> = {
  'iam:user': 'AWS::IAM::User',
  'iam:role': 'AWS::IAM::Role',
  'iam:group': 'AWS::IAM::Group',
  'iam:policy': 'AWS::IAM::ManagedPolicy',
  'iam:instance-profile': 'AWS::IAM::InstanceProfile',
  'sts:assumed-role': 'AWS::STS::AssumedRole',
  'sts:federated-user': 'AWS::STS::FederatedUser',
  'ssm:parameter': 'AWS::SSM::Parameter',
  'ssm:document': 'AWS::SSM::Document',
  'kms:key': 'AWS::KMS::Key',
  'kms:alias': 'AWS::KMS::Alias',
  'lambda:function': 'AWS::Lambda::Function',
  'lambda:layer': 'AWS::Lambda::LayerVersion',
  'secretsmanager:secret': 'AWS::SecretsManager::Secret',
  'cloudtrail:trail': 'AWS::CloudTrail::Trail',
  'cloudtrail:eventdatastore': 'AWS::CloudTrail::EventDataStore',
  'ec2:instance': 'AWS::EC2::Instance',
  'ec2:security-group': 'AWS::EC2::SecurityGroup',
  'ec2:volume': 'AWS::EC2::Volume',
  'ec2:snapshot': 'AWS::EC2::Snapshot',
  'ec2:image': 'AWS::EC2::Ami',
  'dynamodb:table': 'AWS::DynamoDB::Table',
  'logs:log-group': 'AWS::Logs::LogGroup',
};

/** The type of the resource an ARN names (`arn:aws:ssm:r:a:parameter/x` → `AWS::SSM::Parameter`). */
export function arnType(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  const service = parts[2];
  if (service === 's3') return parts.slice(5).join(':').includes('/') ? 'AWS::S3::Object' : 'AWS::S3::Bucket';
  if (service === 'sns') return 'AWS::SNS::Topic';
  if (service === 'sqs') return 'AWS::SQS::Queue';
  const kind = parts[5].split('/')[0];
  return ARN_TYPES[`${service}:${kind}`];
}

/** Patterns of the ARNs {@link arnType} gives this type: what a query engine matches instead of calling it. */
export function arnTypePatterns(type: string): string[] {
  const special: Record<string, string> = {
    'AWS::S3::Bucket': '^arn:[^:]+:s3:::[^/]*$',
    'AWS::S3::Object': '^arn:[^:]+:s3:::[^/]*/',
    'AWS::SNS::Topic': '^arn:[^:]+:sns:',
    'AWS::SQS::Queue': '^arn:[^:]+:sqs:',
  };
  const out = special[type] ? [special[type]] : [];
  for (const [key, t] of Object.entries(ARN_TYPES)) {
    if (t !== type) continue;
    const [service, kind] = key.split(':');
    out.push(`^arn:[^:]+:${service}:[^:]*:[^:]*:${kind}([/:]|$)`);
  }
  return out;
}

/** The record's own `resources[]` entries. */
function listedResources(r: CloudTrailRecord): ResourceRef[] {
  if (!Array.isArray(r.resources)) return [];
  const out: ResourceRef[] = [];
  for (const e of (r.resources as unknown[]).slice(0, MAX_RESOURCES)) {
    const o = objectOf(e);
    const name = textOf(o?.ARN) ?? textOf(o?.ARNPrefix);
    if (!name || name.length > MAX_NAME_CHARS) continue;
    const type = textOf(o?.type) ?? arnType(name);
    if (type) out.push({ type, name });
  }
  return out;
}

/**
 * The resources a record names, each once: the `resources[]` entries first, then the tables' finds in
 * table order. A name that an ARN of the same type already names (`malicious-iam-user` beside
 * `arn:aws:iam::1:user/malicious-iam-user`) is left out: the ARN says more.
 */
export function extractResources(record: unknown): ResourceRef[] {
  const r = objectOf(record) as CloudTrailRecord | undefined;
  if (!r) return [];
  const found = listedResources(r);
  const source = textOf(r.eventSource);
  const eventName = textOf(r.eventName) ?? '';
  for (const rule of (source && bySource.get(source)) || []) {
    if (!ruleApplies(rule, eventName)) continue;
    for (const steps of rule.steps) {
      for (const name of valuesAt(r, steps)) {
        if (rule.match && !rule.match.test(name)) continue;
        found.push({ type: rule.type, name });
      }
    }
  }
  const out: ResourceRef[] = [];
  const seen = new Set<string>();
  for (const res of found) {
    const key = `${res.type}\n${res.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const named = found.some(
      (o) =>
        o.type === res.type &&
        o.name !== res.name &&
        o.name.startsWith('arn:') &&
        nameMatches(o.name, res.name),
    );
    if (named) continue;
    out.push(res);
    if (out.length >= MAX_RESOURCES) break;
  }
  return out;
}

/**
 * Every name {@link extractResources} can give for the record, and perhaps a few more (taken before its
 * dedup, its cap and its typing of `resources[]`), into `out`. For an index, which must miss none of them and
 * is built for every record ingested: this skips the work that only shapes what is shown.
 */
export function resourceNameCandidates(record: unknown, out: (name: string) => void): void {
  const r = objectOf(record) as CloudTrailRecord | undefined;
  if (!r) return;
  if (Array.isArray(r.resources)) {
    for (const e of (r.resources as unknown[]).slice(0, MAX_RESOURCES)) {
      const o = objectOf(e);
      const name = textOf(o?.ARN) ?? textOf(o?.ARNPrefix);
      if (name && name.length <= MAX_NAME_CHARS) out(name);
    }
  }
  const source = textOf(r.eventSource);
  if (!source) return;
  const rules = bySource.get(source);
  if (!rules) return;
  for (const rule of applicable(source, rules, textOf(r.eventName) ?? '')) {
    for (const steps of rule.steps) eachValueAt(r, steps, 0, rule.match, out);
  }
}

/** Per event source and name, the rules that apply: files repeat a few names record after record. */
const applicableRules = new Map<string, Map<string, CompiledRule[]>>();
/** Names remembered per source, at most (an adversary's records may name any number of events). */
const MAX_REMEMBERED_NAMES = 4096;

function applicable(source: string, rules: CompiledRule[], eventName: string): CompiledRule[] {
  let byName = applicableRules.get(source);
  if (!byName) {
    byName = new Map();
    applicableRules.set(source, byName);
  }
  let found = byName.get(eventName);
  if (!found) {
    found = rules.filter((rule) => ruleApplies(rule, eventName));
    if (byName.size >= MAX_REMEMBERED_NAMES) byName.clear();
    byName.set(eventName, found);
  }
  return found;
}

/** {@link valuesAt}'s strings, passed on one by one (those `match` admits) without the arrays it builds. */
function eachValueAt(
  v: unknown,
  steps: readonly Step[],
  i: number,
  match: RegExp | undefined,
  out: (name: string) => void,
): void {
  if (i === steps.length) {
    if (Array.isArray(v)) {
      const n = Math.min(v.length, MAX_ELEMENTS);
      for (let k = 0; k < n; k++) leaf(v[k], match, out);
    } else leaf(v, match, out);
    return;
  }
  const o = objectOf(v);
  const step = steps[i];
  if (!o || !Object.hasOwn(o, step.key)) return;
  const child = o[step.key];
  if (step.each && Array.isArray(child)) {
    const n = Math.min(child.length, MAX_ELEMENTS);
    for (let k = 0; k < n; k++) eachValueAt(child[k], steps, i + 1, match, out);
  } else eachValueAt(child, steps, i + 1, match, out);
}

function leaf(v: unknown, match: RegExp | undefined, out: (name: string) => void): void {
  if (typeof v !== 'string' || v === '' || v.length > MAX_NAME_CHARS) return;
  if (!match || match.test(v)) out(v);
}

/** Whether a record names a resource with this name and/or type (one resource must have both). */
export function namesResource(record: unknown, want: { name?: string; type?: string }): boolean {
  return extractResources(record).some(
    (res) =>
      (want.type === undefined || res.type === want.type) &&
      (want.name === undefined || nameMatches(res.name, want.name)),
  );
}
