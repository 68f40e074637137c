import { describe, expect, it } from 'vitest';
import {
  compilePattern,
  evaluateReference,
  formatPattern,
  parsePattern,
} from '#shared/rules/pattern/index.ts';

/**
 * The examples of CloudWatch Logs' page "Using filter patterns to match terms in JSON log events"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html), run on the
 * page's own example log event: each row is (pattern, expected match). The page asks for the event on one
 * line when testing in the console; here it is the parsed object.
 */
const DOCUMENTED_EVENT = {
  eventType: 'UpdateTrail',
  sourceIPAddress: '111.111.111.111',
  arrayKey: ['value', 'another value'],
  objectList: [
    { name: 'a', id: 1 },
    { name: 'b', id: 2 },
  ],
  SomeObject: null,
  'cluster.name': 'c',
  ThisFlag: true,
};

/** The compound examples of the same page use this event. */
const DOCUMENTED_USER_EVENT = {
  user: { id: 1, email: 'John.Doe@example.com' },
  users: [
    { id: 2, email: 'John.Doe@example.com' },
    { id: 3, email: 'Jane.Doe@example.com' },
  ],
  actions: ['GET', 'PUT', 'DELETE'],
  coordinates: [
    [0, 1],
    [2, 3],
  ],
};

function matches(pattern: string, event: unknown): boolean {
  const p = compilePattern(pattern);
  const fast = p.test(event);
  const slow = evaluateReference(p.ast, event);
  if (fast !== slow) throw new Error(`compiled (${fast}) and reference (${slow}) disagree on ${pattern}`);
  return fast;
}

describe('CloudWatch documentation examples (JSON log events)', () => {
  const cases: [string, boolean][] = [
    // strings, wildcards in values, indices
    ['{ $.eventType = "UpdateTrail" }', true],
    ['{ $.sourceIPAddress != 123.123.* }', true],
    ['{ $.sourceIPAddress = 111.111.* }', true],
    ['{ $.arrayKey[0] = "value" }', true],
    ['{ $.arrayKey[1] = "value" }', false],
    ['{ $.objectList[1].id = 2 }', true],
    ['{ $.objectList[0].id = 2 }', false],
    // null, existence, booleans
    ['{ $.SomeObject IS NULL }', true],
    ['{ $.SomeOtherObject NOT EXISTS }', true],
    ['{ $.SomeObject NOT EXISTS }', false],
    ['{ $.ThisFlag IS TRUE }', true],
    ['{ $.ThisFlag IS FALSE }', false],
    // a property name with a dot, in brackets
    ['{ $.[\'cluster.name\'] = "c" }', true],
    ['{ $.[\'cluster.name\'] = "d" }', false],
    // the dotted form is a path (cluster → name), which this event does not have
    ['{ $.cluster.name = "c" }', false],
    // any element of an array
    ['{ $.arrayKey[*] = "value" }', true],
    ['{ $.arrayKey[*] = "another value" }', true],
    ['{ $.arrayKey[*] = "missing" }', false],
    ['{ $.objectList[*].id = 2 }', true],
    ['{ $.objectList[*].name = "c" }', false],
    // any top-level property
    ['{ $.* = "UpdateTrail" }', true],
    ['{ $.* = "c" }', true],
    ['{ $.* = "nowhere" }', false],
    ['{ $.*[*] = "another value" }', true],
    ['{ $.*[*].name = "b" }', true],
  ];

  it.each(cases)('%s → %s', (pattern, expected) => {
    // Act + Assess
    expect(matches(pattern, DOCUMENTED_EVENT)).toBe(expected);
  });

  const compound: [string, boolean][] = [
    ['{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', true],
    ['{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', false],
    [
      '{ $.user.email = "John.Doe@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }',
      true,
    ],
    [
      '{ ($.user.email = "John.Doe@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }',
      false,
    ],
    ['{ $.users[*].email = "Jane.Doe@example.com" }', true],
    ['{ $.coordinates[*][1] = 3 }', true],
  ];

  it.each(compound)('%s → %s', (pattern, expected) => {
    // Act + Assess
    expect(matches(pattern, DOCUMENTED_USER_EVENT)).toBe(expected);
  });

  it('prints the new forms back as patterns that parse to the same tree', () => {
    // Prepare
    const patterns = [
      '{ $.[\'cluster.name\'] = "c" }',
      '{ $.arrayKey[*] = "value" }',
      '{ $.* = "c" }',
      "{ $.['it\\'s'].['*'] = 1 }",
    ];

    // Act
    const round = patterns.map((p) => parsePattern(formatPattern(parsePattern(p))));

    // Assess
    expect(round).toEqual(patterns.map((p) => parsePattern(p)));
    expect(parsePattern("{ $.['*'] = 1 }")).toEqual(parsePattern("{ $.['*'] = 1 }"));
    expect(matches("{ $.['*'] = 1 }", { '*': 1 })).toBe(true);
    expect(matches("{ $.['*'] = 1 }", { other: 1 })).toBe(false);
  });

  it('a condition through a wildcard holds when one reached value satisfies it; NOT EXISTS when none is reached', () => {
    // Prepare
    const event = { list: ['x', 'y'], empty: [], obj: {} };

    // Act
    const results = {
      neSome: matches('{ $.list[*] != "x" }', event),
      neAllEqual: matches('{ $.list[*] != "x" }', { list: ['x', 'x'] }),
      emptyNotExists: matches('{ $.empty[*] NOT EXISTS }', event),
      emptyObject: matches('{ $.obj.* NOT EXISTS }', event),
      starOnString: matches('{ $.list[0][*] NOT EXISTS }', event),
      propertyStarOnArray: matches('{ $.list.* = "x" }', event),
    };

    // Assess
    expect(results).toEqual({
      neSome: true,
      neAllEqual: false,
      emptyNotExists: true,
      emptyObject: true,
      starOnString: true,
      propertyStarOnArray: false,
    });
  });
});
