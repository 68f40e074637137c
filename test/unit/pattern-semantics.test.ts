import { describe, expect, it } from 'vitest';
import { compilePattern, evaluateReference } from '#shared/rules/pattern/index.ts';

/** Both evaluators must agree on every documented case. */
function matches(pattern: string, record: unknown): boolean {
  const p = compilePattern(pattern);
  const fast = p.test(record);
  const slow = evaluateReference(p.ast, record);
  if (fast !== slow) throw new Error(`compiled (${fast}) and reference (${slow}) disagree on ${pattern}`);
  return fast;
}

describe('filter-pattern semantics', () => {
  it('!= does not match a missing field (CloudWatch metric filters), so CloudWatch.3 skips a record without MFAUsed', () => {
    // Prepare
    const cw3 =
      '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }';
    const login = (additionalEventData?: Record<string, unknown>) => ({
      eventName: 'ConsoleLogin',
      userIdentity: { type: 'IAMUser' },
      responseElements: { ConsoleLogin: 'Success' },
      ...(additionalEventData ? { additionalEventData } : {}),
    });

    // Act
    const results = {
      no: matches(cw3, login({ MFAUsed: 'No' })),
      yes: matches(cw3, login({ MFAUsed: 'Yes' })),
      absentField: matches(cw3, login({ LoginTo: 'https://console.aws.amazon.com/' })),
      absentParent: matches(cw3, login()),
      workaround: matches(
        '{ $.additionalEventData.MFAUsed NOT EXISTS || $.additionalEventData.MFAUsed != "Yes" }',
        login(),
      ),
    };

    // Assess
    expect(results).toEqual({
      no: true,
      yes: false,
      absentField: false,
      absentParent: false,
      workaround: true,
    });
  });

  it('= and != only see string and number values: null, booleans, objects and arrays match neither', () => {
    // Prepare
    const values = [null, true, false, { a: 1 }, [1, 2, 3], []];

    // Act
    const eq = values.map((v) => matches('{ $.users = 1 }', { users: v }));
    const ne = values.map((v) => matches('{ $.users != 1 }', { users: v }));
    const anyValue = values.map((v) => matches('{ $.users = * }', { users: v }));

    // Assess
    expect([...eq, ...ne, ...anyValue].every((x) => x === false)).toBe(true);
  });

  it('wildcards: leading, trailing, both, alone; an inner * is a literal star', () => {
    // Prepare
    const cases: [string, string, boolean][] = [
      ['"*UnauthorizedOperation"', 'Client.UnauthorizedOperation', true],
      ['"*UnauthorizedOperation"', 'UnauthorizedOperationX', false],
      ['"AccessDenied*"', 'AccessDeniedException', true],
      ['"AccessDenied*"', 'XAccessDenied', false],
      ['*Denied*', 'AccessDeniedException', true],
      ['*', '', true],
      ['Ev*ent', 'EvXent', false],
      ['Ev*ent', 'Ev*ent', true],
      ['123.123.*', '123.123.4.5', true],
      ['"a*"', 'a', true],
    ];

    // Act
    const results = cases.map(([v, field]) => matches(`{ $.f = ${v} }`, { f: field }));

    // Assess
    expect(results).toEqual(cases.map((c) => c[2]));
  });

  it('numbers compare numerically, also against strings that are whole numbers; != is true for other strings', () => {
    // Prepare
    const cases: [string, unknown, boolean][] = [
      ['{ $.fromPort = 22 }', 22, true],
      ['{ $.fromPort = 22 }', '22', true],
      ['{ $.fromPort = 22 }', '22.0', true],
      ['{ $.fromPort = 22 }', ' 22', false],
      ['{ $.fromPort != 22 }', 'ssh', true],
      ['{ $.fromPort != 22 }', 22, false],
      ['{ $.fromPort > 1024 }', 8080, true],
      ['{ $.fromPort > 1024 }', '8080', true],
      ['{ $.fromPort > 1024 }', 'high', false],
      ['{ $.fromPort <= 10e3 }', 10000, true],
      ['{ $.fromPort >= +1000 }', 999.5, false],
      ['{ $.recipientAccountId = 012345678901 }', '012345678901', true],
      ['{ $.fromPort = "22" }', 22, true],
      ['{ $.status = 4* }', 404, true],
      ['{ $.status = 4* }', 504, false],
    ];

    // Act
    const results = cases.map(([p, v]) => matches(p, { fromPort: v, recipientAccountId: v, status: v }));

    // Assess
    expect(results).toEqual(cases.map((c) => c[2]));
  });

  it('NOT EXISTS, IS NULL, IS TRUE and IS FALSE tell absent, null, booleans and strings apart', () => {
    // Prepare
    const records = [{}, { f: null }, { f: true }, { f: false }, { f: 'true' }, { f: 0 }];

    // Act
    const row = (p: string) => records.map((r) => matches(p, r));

    // Assess
    expect(row('{ $.f NOT EXISTS }')).toEqual([true, false, false, false, false, false]);
    expect(row('{ $.f IS NULL }')).toEqual([false, true, false, false, false, false]);
    expect(row('{ $.f IS TRUE }')).toEqual([false, false, true, false, false, false]);
    expect(row('{ $.f IS FALSE }')).toEqual([false, false, false, true, false, false]);
  });

  it('array indices need an array long enough; a property needs an object (not an array)', () => {
    // Prepare
    const doc = {
      arrayKey: ['value', 'another value'],
      objectList: [
        { name: 'a', id: 1 },
        { name: 'b', id: 2 },
      ],
      coordinates: [
        [0, 1, 2],
        [4, 5, 6],
      ],
      notArray: { 0: 'x' },
    };

    // Act
    const results = [
      matches('{ $.arrayKey[0] = "value" }', doc),
      matches('{ $.objectList[1].id = 2 }', doc),
      matches('{ $.coordinates[1][2] = 6 }', doc),
      matches('{ $.arrayKey[5] NOT EXISTS }', doc),
      matches('{ $.notArray[0] = x }', doc),
      matches('{ $.arrayKey.length = 2 }', doc),
      matches('{ $.objectList.name = a }', doc),
    ];

    // Assess
    expect(results).toEqual([true, true, true, true, false, false, false]);
  });

  it('regular expressions match anywhere unless anchored, on strings and on the text of numbers', () => {
    // Act
    const results = [
      matches('{ $.m = %AUTHORIZED% }', { m: '[ERROR 401] UNAUTHORIZED REQUEST' }),
      matches('{ $.m = %^AUTHORIZED% }', { m: 'UNAUTHORIZED' }),
      matches('{ $.ip = %\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}% }', { ip: '10.0.0.1' }),
      matches('{ $.code = %^4[0-9]{2}$% }', { code: 404 }),
      matches('{ $.m != %[Ee]rror|[Ff]ail% }', { m: 'all good' }),
      matches('{ $.m != %[Ee]rror|[Ff]ail% }', {}),
    ];

    // Assess
    expect(results).toEqual([true, false, true, true, true, false]);
  });

  it('inherited object keys do not count as fields', () => {
    // Act
    const results = [
      matches('{ $.constructor NOT EXISTS }', {}),
      matches('{ $.toString = * }', {}),
      matches('{ $.a.hasOwnProperty NOT EXISTS }', { a: {} }),
      matches('{ $.constructor = x }', JSON.parse('{"constructor":"x"}')),
    ];

    // Assess
    expect(results).toEqual([true, false, true, true]);
  });

  it('never throws on records of unexpected shape', () => {
    // Prepare
    let deep: unknown = 'bottom';
    for (let i = 0; i < 5000; i++) deep = i % 2 ? { a: deep } : { a: deep, list: [[{ a: null }]] };
    const records: unknown[] = [
      null,
      undefined,
      42,
      'text',
      [],
      [{ eventName: 'StopLogging' }],
      { requestParameters: null, responseElements: [1, 2], userIdentity: 'root' },
      { additionalEventData: [{ MFAUsed: 'No' }], errorCode: 403, eventName: ['ConsoleLogin'] },
      { userIdentity: { type: { nested: true }, invokedBy: null } },
      deep,
    ];
    const patterns = [
      '{ $.a.a.a.a.a.a.a.a = bottom }',
      '{ $.requestParameters.groupId != "sg-1" || $.responseElements[0] > 0 }',
      '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS }',
      '{ $.a.list[0][0].a IS NULL || $.errorCode = %^4% }',
    ];

    // Act
    const run = () => patterns.flatMap((p) => records.map((r) => matches(p, r)));

    // Assess
    expect(run).not.toThrow();
    expect(matches('{ $.a.a.a.a.a.a.a.a = * }', deep)).toBe(false);
    expect(matches('{ $.a.a.a.a.a.a.a.a.list NOT EXISTS }', deep)).toBe(true);
    expect(matches('{ $.a.a.a.a.a.a.a.list[0][0].a IS NULL }', deep)).toBe(true);
  });
});
