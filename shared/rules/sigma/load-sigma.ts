/**
 * Reads Sigma YAML (one or more documents per file) into trailwatch rules. Strict: a rule for another log
 * source, a field or modifier trailwatch does not run, a correlation type it does not evaluate is a
 * {@link SigmaError} naming the file, the rule (id and title), the feature, what was expected and what was found.
 */
import { parseAllDocuments } from 'yaml';
import { defaultMetricName } from '#shared/metric-names.cjs';
import {
  type CorrelationInfo,
  type Rule,
  SIGMA_LEVELS,
  SIGMA_SEVERITY,
  type SigmaInfo,
  type SigmaLevel,
} from '#shared/rules/rule-types.ts';
import { compileDetection } from '#shared/rules/sigma/detection.ts';
import { describeYaml, SigmaError, type SigmaPlace } from '#shared/rules/sigma/errors.ts';

/** One Sigma file's text and where it came from. */
export interface SigmaSource {
  file: string;
  text: string;
  /** Where the rules come from, for alerts (default `Sigma rule <file>`). */
  source?: string;
  /** Their licence, e.g. `DRL 1.1`. */
  license?: string;
  /**
   * The file's YAML documents already parsed (the bundle carries them, so functions do not parse YAML at
   * start-up); parsed from `text` when absent.
   */
  documents?: unknown[];
}

/** The YAML documents of a Sigma file as plain data. Throws {@link SigmaError} for invalid YAML. */
export function sigmaDocuments(file: string, text: string): unknown[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  return list.map((doc) => {
    const err = doc.errors[0];
    if (err) throw new SigmaError('YAML', 'valid YAML', err.message.split('\n')[0], { file });
    return doc.toJS({ maxAliasCount: 50 }) as unknown;
  });
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const METADATA = new Set([
  'title',
  'id',
  'name',
  'status',
  'description',
  'references',
  'author',
  'date',
  'modified',
  'tags',
  'level',
  'falsepositives',
  'fields',
  'related',
  'license',
  'scope',
  'taxonomy',
]);
const RULE_KEYS = new Set([...METADATA, 'logsource', 'detection']);
const CORRELATION_KEYS = new Set([...METADATA, 'correlation']);
const CORRELATION_FIELDS = new Set(['type', 'rules', 'group-by', 'timespan', 'condition', 'generate']);
const TIMESPAN = /^(\d{1,6})([smhd])$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
/** Longest count window: the state keeps every counted event this long. */
export const MAX_TIMESPAN_SECONDS = 24 * 3600;

interface Doc {
  index: number;
  body: Record<string, unknown>;
  place: SigmaPlace;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function strings(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is string => typeof x === 'string');
}

/** Metric name of a Sigma rule: from its file name, or its `name` when a file holds several alerting rules. */
function metricNameOf(file: string, name: string | undefined, several: boolean): string {
  const stem = file.slice(file.lastIndexOf('/') + 1).replace(/\.ya?ml$/i, '');
  const base = several && name ? name : stem;
  return defaultMetricName(base)
    .replace(/^Custom_/, 'Sigma_')
    .slice(0, 128);
}

function parseDocs(file: string, bodies: unknown[]): Doc[] {
  const out: Doc[] = [];
  bodies.forEach((body, index) => {
    if (body === null || body === undefined) return; // an empty document (a trailing `---`)
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new SigmaError(
        `document ${index + 1}`,
        'a mapping (title, id, detection, ...)',
        describeYaml(body),
        { file },
      );
    }
    const b = body as Record<string, unknown>;
    out.push({ index, body: b, place: { file, ruleId: str(b.id), ruleTitle: str(b.title) } });
  });
  if (out.length === 0) throw new SigmaError('file', 'at least one Sigma rule', 'no YAML document', { file });
  return out;
}

function checkKeys(doc: Doc, allowed: Set<string>, kind: string): void {
  for (const k of Object.keys(doc.body)) {
    if (k === 'action') {
      throw new SigmaError(
        'action',
        'one rule per document',
        `action: ${describeYaml(doc.body.action)} (rule collections are not supported)`,
        doc.place,
      );
    }
    if (k === 'filter') {
      throw new SigmaError(
        'filter',
        'a detection or correlation rule',
        'a Sigma filter document (meta filters are not supported; use a condition)',
        doc.place,
      );
    }
    if (!allowed.has(k)) {
      throw new SigmaError(
        `field "${k}"`,
        `the fields of a ${kind} (${[...allowed].join(', ')})`,
        `unknown field "${k}"`,
        doc.place,
      );
    }
  }
}

function common(doc: Doc, file: string): Omit<SigmaInfo, 'level'> & { level?: SigmaLevel } {
  const b = doc.body;
  const id = str(b.id);
  if (id === undefined || !ID.test(id)) {
    throw new SigmaError(
      'id',
      'an id of 1-64 letters, digits, ".", "_" or "-" (SigmaHQ uses UUIDs)',
      describeYaml(b.id),
      doc.place,
    );
  }
  const title = str(b.title);
  if (title === undefined) throw new SigmaError('title', 'a title', describeYaml(b.title), doc.place);
  const level = b.level === undefined ? undefined : String(b.level);
  if (level !== undefined && !(SIGMA_LEVELS as readonly string[]).includes(level)) {
    throw new SigmaError('level', SIGMA_LEVELS.join(', '), describeYaml(b.level), doc.place);
  }
  for (const list of ['references', 'tags'] as const) {
    const v = b[list];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) {
      throw new SigmaError(list, 'a list of strings', describeYaml(v), doc.place);
    }
  }
  return {
    id,
    title,
    author: str(b.author) ?? '',
    ...(level ? { level: level as SigmaLevel } : {}),
    references: strings(b.references),
    ...(str(b.status) ? { status: str(b.status) } : {}),
    tags: strings(b.tags),
    file,
  };
}

function checkLogsource(doc: Doc): void {
  const ls = doc.body.logsource;
  if (typeof ls !== 'object' || ls === null || Array.isArray(ls)) {
    throw new SigmaError(
      'logsource',
      'logsource: {product: aws, service: cloudtrail}',
      describeYaml(ls),
      doc.place,
    );
  }
  const l = ls as Record<string, unknown>;
  const product = typeof l.product === 'string' ? l.product.toLowerCase() : l.product;
  const service = typeof l.service === 'string' ? l.service.toLowerCase() : l.service;
  const extra = Object.keys(l).filter((k) => !['product', 'service', 'definition'].includes(k));
  if (product !== 'aws' || service !== 'cloudtrail' || extra.length > 0) {
    const found = Object.entries(l)
      .filter(([k]) => k !== 'definition')
      .map(([k, v]) => `${k}: ${describeYaml(v)}`)
      .join(', ');
    throw new SigmaError(
      'logsource',
      'product: aws, service: cloudtrail (trailwatch reads CloudTrail only)',
      found || 'nothing',
      doc.place,
    );
  }
}

function parseTimespan(v: unknown, place: SigmaPlace): number {
  const m = typeof v === 'string' ? TIMESPAN.exec(v.trim()) : null;
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2]] : Number.NaN;
  if (!m || seconds <= 0 || seconds > MAX_TIMESPAN_SECONDS) {
    throw new SigmaError(
      'correlation.timespan',
      `a duration such as 30s, 5m or 1h, at most ${MAX_TIMESPAN_SECONDS / 3600}h`,
      describeYaml(v),
      place,
    );
  }
  return seconds;
}

function parseCorrelation(
  doc: Doc,
  byRef: Map<string, { doc: Doc; info: SigmaInfo }>,
): { correlation: CorrelationInfo; generate: boolean; referenced: Doc[] } {
  const place = doc.place;
  const c = doc.body.correlation;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new SigmaError(
      'correlation',
      'a mapping (type, rules, group-by, timespan, condition)',
      describeYaml(c),
      place,
    );
  }
  const corr = c as Record<string, unknown>;
  for (const k of Object.keys(corr)) {
    if (!CORRELATION_FIELDS.has(k)) {
      throw new SigmaError(
        `correlation.${k}`,
        `one of ${[...CORRELATION_FIELDS].join(', ')}`,
        `unknown field "${k}"${k === 'aliases' ? ' (field aliases are not supported)' : ''}`,
        place,
      );
    }
  }
  const type = corr.type;
  if (type !== 'event_count' && type !== 'value_count') {
    throw new SigmaError(
      'correlation.type',
      'event_count or value_count',
      type === 'temporal' || type === 'temporal_ordered' ? `${type} (not supported)` : describeYaml(type),
      place,
    );
  }
  const refs = strings(corr.rules);
  if (refs.length === 0 || (Array.isArray(corr.rules) && refs.length !== corr.rules.length)) {
    throw new SigmaError('correlation.rules', 'a list of rule names or ids', describeYaml(corr.rules), place);
  }
  const referenced = refs.map((r) => {
    const hit = byRef.get(r);
    if (!hit) {
      throw new SigmaError(
        'correlation.rules',
        `the name or id of a detection rule in the same file (${[...byRef.keys()].join(', ') || 'none'})`,
        JSON.stringify(r),
        place,
      );
    }
    return hit;
  });
  const groupBy = corr['group-by'] === undefined ? [] : strings(corr['group-by']);
  if (
    corr['group-by'] !== undefined &&
    (!Array.isArray(corr['group-by']) || groupBy.length !== corr['group-by'].length)
  ) {
    throw new SigmaError(
      'correlation.group-by',
      'a list of field names',
      describeYaml(corr['group-by']),
      place,
    );
  }
  const timespanSeconds = parseTimespan(corr.timespan, place);
  const cond = corr.condition;
  if (typeof cond !== 'object' || cond === null || Array.isArray(cond)) {
    throw new SigmaError('correlation.condition', 'a mapping such as {gte: 10}', describeYaml(cond), place);
  }
  const cc = cond as Record<string, unknown>;
  const ops = Object.keys(cc).filter((k) => k !== 'field');
  const op = ops[0];
  const n = cc[op];
  if (
    ops.length !== 1 ||
    (op !== 'gte' && op !== 'gt') ||
    typeof n !== 'number' ||
    !Number.isInteger(n) ||
    n < 1 ||
    n > 100_000
  ) {
    const found = ops.map((k) => `${k}: ${describeYaml(cc[k])}`).join(', ') || 'nothing';
    throw new SigmaError(
      'correlation.condition',
      'one of gte or gt with a whole number 1-100000 (lt, lte, eq need the absence of events and are not supported)',
      found,
      place,
    );
  }
  const threshold = op === 'gt' ? n + 1 : n;
  let field: string | undefined;
  if (type === 'value_count') {
    field = str(cc.field);
    if (field === undefined)
      throw new SigmaError(
        'correlation.condition.field',
        'the field whose distinct values are counted',
        describeYaml(cc.field),
        place,
      );
  } else if (cc.field !== undefined) {
    throw new SigmaError(
      'correlation.condition.field',
      'no field for event_count',
      describeYaml(cc.field),
      place,
    );
  }
  if (corr.generate !== undefined && typeof corr.generate !== 'boolean') {
    throw new SigmaError('correlation.generate', 'true or false', describeYaml(corr.generate), place);
  }
  return {
    correlation: {
      type,
      rules: referenced.map((r) => r.info.id),
      detections: referenced.map((r) => r.info.detection as Record<string, unknown>),
      groupBy,
      timespanSeconds,
      threshold,
      ...(field ? { field } : {}),
    },
    generate: corr.generate === true,
    referenced: referenced.map((r) => r.doc),
  };
}

function toRule(doc: Doc, info: SigmaInfo, src: SigmaSource, metricName: string): Rule {
  const b = doc.body;
  if (!info.author) {
    throw new SigmaError(
      'author',
      'an author (alerts name the author of the rule that raised them)',
      describeYaml(b.author),
      doc.place,
    );
  }
  return {
    id: info.id,
    title: info.title,
    severity: SIGMA_SEVERITY[info.level],
    description: (str(b.description) ?? info.title).replace(/\s+/g, ' '),
    pattern: '',
    metricName,
    source: src.source ?? `Sigma rule ${src.file}`,
    origin: src.file,
    sigma: info,
  };
}

/**
 * The alerting rules of one Sigma file: each detection rule, except those only counted by a correlation in
 * the file (unless it says `generate: true`), and each correlation (count rule).
 */
export function parseSigmaFile(src: SigmaSource): Rule[] {
  const { file } = src;
  const docs = parseDocs(file, src.documents?.length ? src.documents : sigmaDocuments(file, src.text));
  const detections = new Map<string, { doc: Doc; info: SigmaInfo }>();
  const infos = new Map<Doc, SigmaInfo>();
  for (const doc of docs) {
    if ('correlation' in doc.body) continue;
    checkKeys(doc, RULE_KEYS, 'detection rule');
    const base = common(doc, file);
    checkLogsource(doc);
    try {
      compileDetection(doc.body.detection);
    } catch (err) {
      if (err instanceof SigmaError) throw err.at(doc.place);
      throw err;
    }
    const info = { ...base, detection: doc.body.detection as Record<string, unknown> } as SigmaInfo;
    if (src.license) info.license = src.license;
    infos.set(doc, info);
    detections.set(info.id, { doc, info });
    const name = str(doc.body.name);
    if (name) detections.set(name, { doc, info });
  }
  const silenced = new Set<Doc>();
  const alerting: { doc: Doc; info: SigmaInfo }[] = [];
  for (const doc of docs) {
    if (!('correlation' in doc.body)) continue;
    checkKeys(doc, CORRELATION_KEYS, 'correlation rule');
    const base = common(doc, file);
    const { correlation, generate, referenced } = parseCorrelation(doc, detections);
    if (!generate) for (const r of referenced) silenced.add(r);
    const info = { ...base, correlation } as SigmaInfo;
    if (src.license) info.license = src.license;
    infos.set(doc, info);
  }
  for (const doc of docs) {
    const info = infos.get(doc) as SigmaInfo;
    if (silenced.has(doc)) continue;
    if (info.level === undefined) {
      throw new SigmaError(
        'level',
        `a level (${SIGMA_LEVELS.join(', ')}): it sets the alert severity`,
        'nothing',
        doc.place,
      );
    }
    alerting.push({ doc, info });
  }
  return alerting.map(({ doc, info }) =>
    toRule(doc, info, src, metricNameOf(file, str(doc.body.name) ?? info.id, alerting.length > 1)),
  );
}

/** Every alerting rule of many Sigma files, with the files that could not be used and why. */
export function parseSigmaFiles(sources: SigmaSource[]): { rules: Rule[]; rejected: SigmaError[] } {
  const rules: Rule[] = [];
  const rejected: SigmaError[] = [];
  for (const src of sources) {
    try {
      rules.push(...parseSigmaFile(src));
    } catch (err) {
      if (!(err instanceof SigmaError)) throw err;
      rejected.push(err);
    }
  }
  return { rules, rejected };
}
