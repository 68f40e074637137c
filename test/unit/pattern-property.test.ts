import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANY_ELEMENT, ANY_PROPERTY, type Segment } from '#shared/rules/pattern/ast.ts';
import { compileNode } from '#shared/rules/pattern/compile.ts';
import {
  compilePattern,
  evaluateReference,
  formatPattern,
  type Literal,
  MAX_PATTERN_LENGTH,
  type Node,
  parsePattern,
} from '#shared/rules/pattern/index.ts';

// A small vocabulary so that random patterns and random records actually meet.
// 'cluster.name' and "it's" need the bracket form `$.['...']`; '*' as a name must not read as a wildcard.
const NAMES = ['a', 'b', 'eventName', 'errorCode', 'x-y', 'n_1', 'constructor', 'cluster.name', "it's", '*'];
const TEXTS = [
  'x',
  'AccessDenied',
  'AccessDeniedException',
  '22',
  '22.5',
  'abc',
  'Ev*ent',
  '',
  'a"b',
  'c\\d',
  '1e3',
  '07',
  'A-c',
];

/** A property step (a name, or `.*` now and then) followed by indices and `[*]`s. */
const propertyStep: fc.Arbitrary<Segment> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 1, arbitrary: fc.constant(ANY_PROPERTY) },
);
const indexStep: fc.Arbitrary<Segment> = fc.oneof(
  { weight: 3, arbitrary: fc.nat({ max: 2 }) },
  { weight: 1, arbitrary: fc.constant(ANY_ELEMENT) },
);
const path = fc
  .array(fc.tuple(propertyStep, fc.array(indexStep, { maxLength: 2 })), {
    minLength: 1,
    maxLength: 3,
  })
  .map((parts) => parts.flatMap(([name, indices]): Segment[] => [name, ...indices]));

const stringLiteral: fc.Arbitrary<Literal> = fc
  .tuple(fc.constantFrom(...TEXTS), fc.boolean(), fc.boolean())
  .map(([v, lead, trail]) => ({
    kind: 'string',
    value: `${lead ? '*' : ''}${v}${trail ? '*' : ''}`,
    quoted: true,
  }));
const numberLiteral: fc.Arbitrary<Literal> = fc
  .oneof(fc.integer({ min: -3, max: 30 }), fc.constantFrom(0.5, -1.5, 22.5, 1000, 7))
  .map((n) => ({ kind: 'number', value: n, text: String(n) }));
const regexLiteral: fc.Arbitrary<Literal> = fc
  .constantFrom('^a', 'b$', '[0-9]+', 'Denied|x', '\\d{2}', '^2.$', 'A.c', '^$')
  .map((source) => ({ kind: 'regex', source }));

const compare: fc.Arbitrary<Node> = fc.oneof(
  fc.record({
    type: fc.constant('compare' as const),
    path,
    op: fc.constantFrom('=' as const, '!=' as const),
    value: fc.oneof(stringLiteral, numberLiteral, regexLiteral),
  }),
  fc.record({
    type: fc.constant('compare' as const),
    path,
    op: fc.constantFrom('<' as const, '>' as const, '<=' as const, '>=' as const),
    value: numberLiteral,
  }),
);
const condition: fc.Arbitrary<Node> = fc.oneof(
  { weight: 4, arbitrary: compare },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('notExists' as const), path }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('isNull' as const), path }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('isBoolean' as const), path, value: fc.boolean() }) },
);
/** `$.p = v1 || $.p = v2 || ...`: the shape the compiler turns into a Set lookup. */
const exactString: fc.Arbitrary<Literal> = fc
  .constantFrom('22', '22.5', '404', '1e3', 'x', 'AccessDenied', 'abc', 'Ev*ent')
  .map((value) => ({ kind: 'string', value, quoted: true }));
const equalityChain: fc.Arbitrary<Node> = fc
  .tuple(
    fc.constantFrom<Segment[]>(['a'], ['b', 0], ['errorCode'], ['b', ANY_ELEMENT], [ANY_PROPERTY]),
    fc.array(fc.oneof({ weight: 4, arbitrary: exactString }, stringLiteral, numberLiteral), {
      minLength: 3,
      maxLength: 6,
    }),
    fc.array(condition, { maxLength: 2 }),
  )
  .map(([p, values, extra]) => ({
    type: 'or',
    items: [...values.map((value): Node => ({ type: 'compare', path: p, op: '=', value })), ...extra],
  }));

const { node: pattern } = fc.letrec<{ node: Node; and: Node; or: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    condition,
    equalityChain,
    tie('and'),
    tie('or'),
  ),
  and: fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((items) => ({ type: 'and', items })),
  or: fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((items) => ({ type: 'or', items })),
}));

const leaf = fc.oneof(
  fc.constantFrom(...TEXTS, 'Client.UnauthorizedOperation', 'xAccessDenied', '2x', 'b', '404'),
  fc.integer({ min: -3, max: 30 }),
  fc.constantFrom(0.5, -1.5, 22.5, 1000, 404),
  fc.boolean(),
  fc.constant(null),
);
const { value: jsonValue, obj: jsonObject } = fc.letrec<{
  value: unknown;
  arr: unknown[];
  obj: Record<string, unknown>;
}>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('arr'), tie('obj')),
  arr: fc.array(tie('value'), { maxLength: 3 }),
  obj: fc.dictionary(fc.constantFrom(...NAMES), tie('value'), { maxKeys: 5 }),
}));
const record = fc.oneof({ weight: 5, arbitrary: jsonObject }, { weight: 1, arbitrary: jsonValue });

function regexCount(n: Node): number {
  if (n.type === 'and' || n.type === 'or') return n.items.reduce((s, i) => s + regexCount(i), 0);
  return n.type === 'compare' && n.value.kind === 'regex' ? 1 : 0;
}

describe('compiled matchers agree with the reference interpreter', () => {
  it('on random patterns and random records', () => {
    // Prepare
    let matched = 0;
    let total = 0;

    // Act + Assess
    fc.assert(
      fc.property(pattern, fc.array(record, { minLength: 1, maxLength: 6 }), (ast, records) => {
        const fast = compileNode(ast);
        for (const r of records) {
          const expected = evaluateReference(ast, r);
          total++;
          if (expected) matched++;
          expect(fast(r)).toBe(expected);
        }
      }),
      { numRuns: 3000 },
    );
    // Both outcomes must have been exercised, or the comparison proves little.
    expect(matched).toBeGreaterThan(total / 20);
    expect(total - matched).toBeGreaterThan(total / 20);
  });

  it('after printing and re-parsing the pattern', () => {
    // Act + Assess
    fc.assert(
      fc.property(
        pattern.filter((ast) => regexCount(ast) <= 2 && formatPattern(ast).length <= MAX_PATTERN_LENGTH),
        fc.array(record, { minLength: 1, maxLength: 4 }),
        (ast, records) => {
          const text = formatPattern(ast);
          const compiled = compilePattern(text);
          expect(compiled.ast).toEqual(parsePattern(formatPattern(compiled.ast)));
          for (const r of records) expect(compiled.test(r)).toBe(evaluateReference(ast, r));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('never throws, whatever the record', () => {
    // Act + Assess
    fc.assert(
      fc.property(pattern, fc.anything(), (ast, anything) => {
        expect(() => compileNode(ast)(anything)).not.toThrow();
      }),
      { numRuns: 1500 },
    );
  });
});
