import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDetection } from '#shared/rules/sigma/index.ts';
import { referenceMatch } from '#test/support/sigma-reference.ts';

// A small vocabulary so that random rules and random records actually meet.
const FIELDS = [
  'eventName',
  'errorCode',
  'userIdentity.arn',
  'requestParameters.names',
  'a.b',
  'sourceIPAddress',
];
const TEXTS = [
  'GetSecretValue',
  'getsecretvalue',
  'AccessDenied',
  'arn:aws:iam::111122223333:user/alice',
  'Alice',
  '10.1.2.3',
  '192.168.0.7',
  '2001:db8::1',
  'a*b',
  'a?c',
  'x\\y',
  '',
  '22',
  'İstanbul',
];
const PATTERNS = [
  'GetSecretValue',
  'getsecret*',
  '*denied',
  '*alice*',
  'a\\*b',
  'a?c',
  'a\\?c',
  '*',
  '?',
  'x\\y',
  'x\\\\y',
  '22',
  'arn:aws:iam::*:user/*',
  'i̇stanbul',
];
const REGEXES = [
  '^Get',
  'alice$',
  '[0-9]+',
  'user/(alice|bob)',
  '^$',
  'a.c',
  '.+:user/.+',
  '.*alice',
  'a.*',
  '.+',
  '\\.+',
  'x|.+y',
];
const CIDRS = ['10.0.0.0/8', '192.168.0.0/16', '0.0.0.0/0', '2001:db8::/32', '10.1.2.3/32'];

const scalar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...TEXTS) },
  { weight: 1, arbitrary: fc.constantFrom(22, 0, -1.5, true, false, null) },
);
const leaf = fc.oneof(
  { weight: 5, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant({ nested: 'AccessDenied' }) },
);

/** A record with some of the vocabulary's fields, nested where the name has dots, arrays on the way. */
const record = fc
  .array(fc.tuple(fc.constantFrom(...FIELDS), leaf, fc.boolean()), { maxLength: 6 })
  .map((entries) => {
    const r: Record<string, unknown> = {};
    for (const [field, value, arrayOnTheWay] of entries) {
      const [head, ...rest] = field.split('.');
      if (rest.length === 0) r[head] = value;
      else {
        const inner = { [rest.join('.')]: value };
        r[head] = arrayOnTheWay ? [inner, { other: 1 }] : inner;
      }
    }
    return r;
  });

const plainMods: fc.Arbitrary<string[]> = fc.constantFrom<string[]>(
  [],
  ['contains'],
  ['startswith'],
  ['endswith'],
  ['cased'],
  ['contains', 'cased'],
);
const withAll = (mods: fc.Arbitrary<string[]>) =>
  fc.tuple(mods, fc.boolean()).map(([m, all]) => (all ? [...m, 'all'] : m));

/** One `field|modifiers: value(s)` entry, valid by construction. */
const fieldEntry: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...FIELDS),
      withAll(plainMods),
      fc.array(fc.constantFrom(...PATTERNS, 22), { minLength: 1, maxLength: 3 }),
    )
    .map(([f, m, vs]): [string, unknown] => [[f, ...m].join('|'), vs.length === 1 ? vs[0] : vs]),
  fc
    .tuple(
      fc.constantFrom(...FIELDS),
      fc.array(fc.constantFrom(...PATTERNS, null), { minLength: 1, maxLength: 3 }),
    )
    .map(([f, vs]): [string, unknown] => [f, vs.length === 1 ? vs[0] : vs]),
  fc
    .tuple(
      fc.constantFrom(...FIELDS),
      fc.constantFrom([], ['i'], ['m'], ['s', 'i']),
      fc.array(fc.constantFrom(...REGEXES), { minLength: 1, maxLength: 2 }),
    )
    .map(([f, flags, vs]): [string, unknown] => [
      [f, 're', ...flags].join('|'),
      vs.length === 1 ? vs[0] : vs,
    ]),
  fc
    .tuple(fc.constantFrom(...FIELDS), fc.array(fc.constantFrom(...CIDRS), { minLength: 1, maxLength: 2 }))
    .map(([f, vs]): [string, unknown] => [`${f}|cidr`, vs]),
  fc.tuple(fc.constantFrom(...FIELDS), fc.boolean()).map(([f, b]): [string, unknown] => [`${f}|exists`, b]),
  fc
    .tuple(
      fc.constantFrom(...FIELDS),
      fc.constantFrom('lt', 'lte', 'gt', 'gte'),
      fc.constantFrom(0, 22, 21.5, -2),
    )
    .map(([f, op, n]): [string, unknown] => [`${f}|${op}`, n]),
  fc
    .tuple(
      fc.constantFrom(...FIELDS),
      fc.constantFrom(...FIELDS),
      fc.constantFrom([], ['contains'], ['startswith'], ['endswith'], ['cased']),
    )
    .map(([f, other, m]): [string, unknown] => [[f, 'fieldref', ...m].join('|'), other]),
);

const mapping = fc
  .uniqueArray(fieldEntry, { minLength: 1, maxLength: 3, selector: ([k]) => k })
  .map((entries) => Object.fromEntries(entries));
const selection = fc.oneof(
  { weight: 3, arbitrary: mapping },
  { weight: 1, arbitrary: fc.array(mapping, { minLength: 1, maxLength: 2 }) },
);

const NAMES = ['selection', 'selection_a', 'selection_b', 'filter_x', '_hidden'];

/** Conditions over the names a detection defines: and/or/not, parentheses, `1 of`/`all of` patterns, `them`. */
function condition(names: string[]): fc.Arbitrary<string> {
  const leafCond = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.constantFrom('1 of them', 'all of them') },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('selection*', 'selection_*', 'filter_*', '*', '_*')
        .filter((p) => names.some((n) => new RegExp(`^${p.split('*').join('.*')}$`).test(n)))
        .chain((p) => fc.constantFrom(`1 of ${p}`, `all of ${p}`)),
    },
  );
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leafCond,
      fc.tuple(tie('tree'), fc.constantFrom('and', 'or'), tie('tree')).map(([a, op, b]) => `${a} ${op} ${b}`),
      fc
        .tuple(tie('tree'), fc.constantFrom('and', 'or'), tie('tree'))
        .map(([a, op, b]) => `(${a}) ${op} (${b})`),
      tie('tree').map((a) => `not ${a}`),
      tie('tree').map((a) => `not (${a})`),
    ),
  }));
  return tree as fc.Arbitrary<string>;
}

const detection = fc
  .uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 })
  .filter((names) => names.some((n) => !n.startsWith('_')))
  .chain((names) =>
    fc.tuple(fc.tuple(...names.map(() => selection)), condition(names)).map(([sels, cond]) => {
      const d: Record<string, unknown> = { condition: cond };
      names.forEach((n, i) => {
        d[n] = sels[i];
      });
      return d;
    }),
  );

describe('Sigma evaluator against the reference interpreter', () => {
  it('agrees on generated rules and records', () => {
    fc.assert(
      fc.property(detection, fc.array(record, { minLength: 1, maxLength: 5 }), (det, records) => {
        // Act
        const compiled = compileDetection(det);

        // Assess
        for (const r of records) expect(compiled.match(r)).toBe(referenceMatch(det, r));
      }),
      { numRuns: 3000 },
    );
  });

  it('never misses a match through the eventName / eventSource pre-filter', () => {
    fc.assert(
      fc.property(detection, fc.array(record, { minLength: 1, maxLength: 5 }), (det, records) => {
        const compiled = compileDetection(det);
        for (const r of records) {
          if (!compiled.match(r)) continue;
          const name = typeof r.eventName === 'string' ? r.eventName.toLowerCase() : undefined;
          if (compiled.eventNames && name !== undefined) expect(compiled.eventNames.has(name)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
