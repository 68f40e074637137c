import { describe, expect, it } from 'vitest';
import catalog from '#shared/rules/catalog.json' with { type: 'json' };
import {
  formatPattern,
  MAX_PATTERN_LENGTH,
  type Node,
  PatternError,
  parsePattern,
} from '#shared/rules/pattern/index.ts';

function parseError(pattern: string): PatternError {
  try {
    parsePattern(pattern);
  } catch (err) {
    if (err instanceof PatternError) return err;
    throw err;
  }
  throw new Error(`pattern was accepted: ${pattern}`);
}

describe('parsePattern: the language', () => {
  it('parses every catalog pattern and prints it back to an equivalent tree', () => {
    // Prepare
    const patterns = catalog.map((r) => r.pattern);

    // Act
    const trees = patterns.map((p) => parsePattern(p));
    const reparsed = trees.map((t) => parsePattern(formatPattern(t)));

    // Assess
    expect(trees).toHaveLength(16);
    expect(reparsed).toEqual(
      trees.map((t) => JSON.parse(JSON.stringify(t).replaceAll('"quoted":false', '"quoted":true'))),
    );
  });

  it('binds && tighter than || (CIS 4.1 strict: A || B && C && D)', () => {
    // Prepare
    const pattern = catalog.find((r) => r.id === 'CIS.4.1')!.pattern;

    // Act
    const tree = parsePattern(pattern);

    // Assess
    expect(tree.type).toBe('or');
    const items = (tree as Extract<Node, { type: 'or' }>).items;
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({
      type: 'compare',
      path: ['errorCode'],
      value: { value: '*UnauthorizedOperation' },
    });
    expect(items[1]).toMatchObject({ type: 'and' });
    expect(
      (items[1] as Extract<Node, { type: 'and' }>).items.map((n) => (n as { path: unknown }).path),
    ).toEqual([['errorCode'], ['sourceIPAddress'], ['eventName']]);
  });

  it('reads selectors with nested properties and array indices', () => {
    // Act
    const tree = parsePattern('{ $.coordinates[0][1] = 5 && $.users[1].e-mail_2 != "x" }');

    // Assess
    expect(tree).toEqual({
      type: 'and',
      items: [
        {
          type: 'compare',
          path: ['coordinates', 0, 1],
          op: '=',
          value: { kind: 'number', value: 5, text: '5' },
        },
        {
          type: 'compare',
          path: ['users', 1, 'e-mail_2'],
          op: '!=',
          value: { kind: 'string', value: 'x', quoted: true },
        },
      ],
    });
  });

  it('tells numbers from bare strings and keeps quoted digits as strings', () => {
    // Act
    const values = ['22', '-1.5', '+1000', '10e-3', '.5', '123.123.*', 'kms.amazonaws.com', '"22"'].map(
      (v) => (parsePattern(`{ $.a = ${v} }`) as { value: unknown }).value,
    );

    // Assess
    expect(values).toEqual([
      { kind: 'number', value: 22, text: '22' },
      { kind: 'number', value: -1.5, text: '-1.5' },
      { kind: 'number', value: 1000, text: '+1000' },
      { kind: 'number', value: 0.01, text: '10e-3' },
      { kind: 'number', value: 0.5, text: '.5' },
      { kind: 'string', value: '123.123.*', quoted: false },
      { kind: 'string', value: 'kms.amazonaws.com', quoted: false },
      { kind: 'string', value: '22', quoted: true },
    ]);
  });

  it('reads the keyword conditions, regular expressions and escaped quotes', () => {
    // Act
    const tree = parsePattern(
      '{ $.a NOT EXISTS || $.b IS NULL || $.c IS TRUE || $.d IS FALSE || $.e = %^[0-9]{3}$% || $.f = "say \\"hi\\" \\\\o/" }',
    );

    // Assess
    expect((tree as Extract<Node, { type: 'or' }>).items).toEqual([
      { type: 'notExists', path: ['a'] },
      { type: 'isNull', path: ['b'] },
      { type: 'isBoolean', path: ['c'], value: true },
      { type: 'isBoolean', path: ['d'], value: false },
      { type: 'compare', path: ['e'], op: '=', value: { kind: 'regex', source: '^[0-9]{3}$' } },
      {
        type: 'compare',
        path: ['f'],
        op: '=',
        value: { kind: 'string', value: 'say "hi" \\o/', quoted: true },
      },
    ]);
  });
});

describe('parsePattern: malformed patterns are rejected with their column', () => {
  const cases: [string, number, RegExp][] = [
    ['$.eventName = X', 1, /expected '\{' to start a JSON filter pattern.*found selector \$\.eventName/],
    ['{ $.eventName = }', 17, /expected a value after '=', found '\}'/],
    ['{ $.eventName = X', 18, /expected '&&', '\|\|' or '\}', found end of pattern/],
    ['{ $.a[*x] = 1 }', 8, /expected '\]' after '\[\*'/],
    ["{ $.a['b'] = 1 }", 7, /write a property name in brackets after a dot/],
    ["{ $.['cluster.name = 1 }", 25, /closing "'\]" for the property name opened at column 5/],
    ["{ $.[''] = 1 }", 7, /a property name between the quotes/],
    ["{ $.['a'x = 1 }", 9, /expected '\]' after the quoted property name/],
    ['{ $[0] = 1 }', 4, /expected '\.' after '\$'.*an array index must follow a property/],
    ['{ $.a. = 1 }', 7, /expected a property name/],
    ['{ $.a < abc }', 9, /expected a number after '<', found value 'abc'/],
    ['{ $.a >= "5" }', 10, /expected a number after '>='/],
    ['{ $.a = "unterminated }', 24, /expected a closing '"' for the string opened at column 9/],
    ['{ $.a = %a(b)% }', 11, /sub-patterns in parentheses/],
    ['{ $.a = %a b% }', 11, /expected a regular-expression character.*found a space/],
    ['{ $.a = %[z-a]% }', 10, /expected a valid regular expression/],
    ['{ $.a = %x% || $.b = %y% || $.c = %z% }', 35, /at most 2 regular expressions/],
    ['{ $.a = 1 & $.b = 2 }', 11, /expected '&&'/],
    ['{ $.a ! 1 }', 7, /expected '!='/],
    ['{ $.a IS MAYBE }', 10, /expected 'NULL', 'TRUE' or 'FALSE' after 'IS', found value 'MAYBE'/],
    ['{ $.a NOT THERE }', 11, /expected 'EXISTS' after 'NOT'/],
    ['{ $.a }', 7, /expected an operator .* after \$\.a, found '\}'/],
    ['{ ($.a = 1 }', 12, /to close the '\(' at column 3/],
    ['{ $.a = 1 } trailing', 13, /expected end of pattern after '\}'/],
    ['{ $.a = a@b }', 10, /quote values.*found "@"/],
    ['{ }', 3, /expected a selector such as \$\.eventName or '\('/],
    ['', 1, /expected '\{'.*found end of pattern/],
  ];

  it.each(cases)('%s → column %i', (pattern, column, message) => {
    // Act
    const err = parseError(pattern);

    // Assess
    expect(err.column).toBe(column);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^column \d+: expected .+, found .+/);
    expect(err.excerpt().split('\n')[1]).toBe(`${' '.repeat(column - 1)}^`);
  });

  it('rejects a pattern over CloudWatch’s 1024-character limit', () => {
    // Prepare
    const long = `{ ${Array.from({ length: 80 }, (_, i) => `$.eventName = Event${i}`).join(' || ')} }`;

    // Act
    const err = parseError(long);

    // Assess
    expect(long.length).toBeGreaterThan(MAX_PATTERN_LENGTH);
    expect(err.column).toBe(MAX_PATTERN_LENGTH + 1);
    expect(err.message).toMatch(/at most 1024 characters/);
  });
});
