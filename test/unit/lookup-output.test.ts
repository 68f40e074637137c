import { describe, expect, it } from 'vitest';
import { tableColumns, userCell } from '#cli/commands/lookup.ts';
import { CliError } from '#cli/errors.ts';
import { type LookupRow, toRow } from '#cli/lookup/row.ts';
import {
  csvField,
  csvRecord,
  displayText,
  formatTable,
  jsonLine,
  layoutTable,
  type TableColumn,
  textWidth,
  truncate,
} from '#cli/output.ts';
import { ProgressBar } from '#cli/progress.ts';
import { parseTime, TimeFormatError, timeRange } from '#cli/time.ts';
import { logFileKey, type TrailKey } from '#shared/keys.ts';
import { parseCsv } from '#test/support/csv.ts';
import { record } from '#test/support/logfiles.ts';

describe('csv', () => {
  it('quotes only fields that need it and parses back to the same values', () => {
    // Prepare
    const values = ['plain', 'a,b', 'say "hi"', 'two\nlines', '', 'cr\rhere', '=1+2'];
    // Act
    const line = csvRecord(values);
    // Assess
    expect(line.endsWith('\r\n')).toBe(true);
    expect(csvField('plain')).toBe('plain');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(null)).toBe('');
    expect(csvField(true)).toBe('true');
    expect(parseCsv(line + csvRecord(['x', 'y']))).toEqual([values, ['x', 'y']]);
  });
});

describe('json lines', () => {
  it('writes one line per object, whatever line breaks the values hold', () => {
    const text = jsonLine({ a: 'one\ntwo', b: '\u2028' });
    expect(text.split('\n')).toHaveLength(2);
    expect(JSON.parse(text)).toEqual({ a: 'one\ntwo', b: '\u2028' });
  });
});

describe('table', () => {
  type Row = { a: string; b: string; c: string };
  const columns: TableColumn<Row>[] = [
    { header: 'A', cell: (r) => r.a, min: 4 },
    { header: 'B', cell: (r) => r.b, min: 4, want: 10 },
    { header: 'C', cell: (r) => r.c, min: 4, dropOrder: 1 },
  ];
  const rows: Row[] = [
    { a: 'short', b: 'a rather long value in column b', c: 'c value' },
    { a: 'x', b: 'y', c: 'z' },
  ];

  it('keeps every line within the width, cutting long cells with an ellipsis', () => {
    // Act
    const lines = formatTable(rows, columns, { width: 30 });
    // Assess
    for (const line of lines) expect(textWidth(line)).toBeLessThanOrEqual(30);
    expect(lines[1]).toContain('…');
    expect(lines[0].startsWith('A')).toBe(true);
    expect(lines).toHaveLength(3);
  });

  it('drops the columns meant to go first when the wanted widths do not fit', () => {
    // Prepare
    const cells = rows.map((r) => [r.a, r.b, r.c]);
    // Act
    const wide = layoutTable(cells, columns, 200);
    const narrow = layoutTable(cells, columns, 20);
    // Assess
    expect(wide.columns.map((c) => c.header)).toEqual(['A', 'B', 'C']);
    expect(wide.widths).toEqual([5, 31, 7]);
    expect(narrow.columns.map((c) => c.header)).toEqual(['A', 'B']);
    expect(narrow.widths[0] + narrow.widths[1] + 2).toBeLessThanOrEqual(20);
  });

  it('leaves out a column meant to hide when it has no value at all', () => {
    // Prepare
    const optional: TableColumn<Row>[] = [
      columns[0],
      { header: 'EMPTY', cell: () => '', hideWhenEmpty: true },
    ];
    // Act
    const hidden = formatTable(rows, optional, { width: 80 });
    const shown = formatTable([{ a: 'x', b: '', c: '' }], [columns[0], { ...optional[1], cell: () => 'v' }], {
      width: 80,
    });
    // Assess
    expect(hidden[0]).toBe('A');
    expect(shown[0]).toMatch(/^A\s+EMPTY$/);
  });

  it('shows control characters and direction overrides escaped, so a value cannot drive the terminal', () => {
    expect(displayText('curl\x1b[2J\nnext')).toBe('curl\\x1b[2J\\nnext');
    expect(displayText('abc\u202edcba')).toBe('abc\\u202edcba');
    expect(displayText(null)).toBe('');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(truncate('ab😀cd', 3)).toBe('ab…');
  });
});

describe('times', () => {
  const now = new Date('2026-11-20T12:00:00Z');

  it('reads ISO 8601 with and without a zone as UTC unless told otherwise', () => {
    expect(parseTime('2026-11-20T10:01:30Z', 'start').toISOString()).toBe('2026-11-20T10:01:30.000Z');
    expect(parseTime('2026-11-20T10:01', 'start').toISOString()).toBe('2026-11-20T10:01:00.000Z');
    expect(parseTime('2026-11-20 10:01:30.25', 'start').toISOString()).toBe('2026-11-20T10:01:30.250Z');
    expect(parseTime('2026-11-20T10:01:30+02:00', 'start').toISOString()).toBe('2026-11-20T08:01:30.000Z');
    expect(parseTime('2026-11-20T10:01:30-0130', 'start').toISOString()).toBe('2026-11-20T11:31:30.000Z');
  });

  it('takes a date alone as the whole day and relative times from now', () => {
    expect(parseTime('2026-11-20', 'start').toISOString()).toBe('2026-11-20T00:00:00.000Z');
    expect(parseTime('2026-11-20', 'end').toISOString()).toBe('2026-11-20T23:59:59.999Z');
    expect(parseTime('-2h', 'start', now).toISOString()).toBe('2026-11-20T10:00:00.000Z');
    expect(parseTime('7d', 'start', now).toISOString()).toBe('2026-11-13T12:00:00.000Z');
    expect(parseTime('now', 'end', now).toISOString()).toBe(now.toISOString());
    expect(parseTime('1763632890', 'start').toISOString()).toBe('2025-11-20T10:01:30.000Z');
  });

  it('refuses dates that do not exist and text that is no time', () => {
    expect(() => parseTime('2026-02-30', 'start')).toThrow(TimeFormatError);
    expect(() => parseTime('2026-11-20T24:00', 'start')).toThrow(TimeFormatError);
    expect(() => parseTime('yesterday', 'start')).toThrow(/expected an ISO 8601 time/);
  });
});

describe('the lookup table', () => {
  const file = {
    kind: 'log',
    key: logFileKey({
      account: '111122223333',
      region: 'us-east-1',
      time: new Date(),
      unique: 'AbCdEfGh12345678',
    }),
    prefix: '',
    account: '111122223333',
    region: 'us-east-1',
    day: '2026/11/20',
    time: new Date('2026-11-20T10:05:00Z'),
  } as TrailKey;
  const role = 'AWSReservedSSO_AdministratorAccess_0123456789abcdef';
  const email = 'alice.wonderland-longname@example.com';
  // Calls that name no resource: these tests are about the USER column's room.
  const sso: LookupRow = toRow({
    file,
    record: record({
      requestParameters: null,
      userIdentity: {
        type: 'AssumedRole',
        principalId: `AROAEXAMPLE:${email}`,
        arn: `arn:aws:sts::111122223333:assumed-role/${role}/${email}`,
        accountId: '111122223333',
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            arn: `arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/${role}`,
            userName: role,
          },
        },
      },
    }),
  });
  const user = toRow({ file, record: record({ requestParameters: null }) });
  const userColumn = (lines: string[]) => {
    const at = lines[0].indexOf('USER');
    const next = lines[0].indexOf('EVENT');
    return lines.slice(1).map((l) => l.slice(at, next).trim());
  };

  it('names an assumed role or SSO session by its session name, with the role where there is room', () => {
    // Act
    const full = userCell(sso);
    const narrow = userCell(sso, email.length + 5);
    // Assess
    expect(full).toBe(`${email} (${role})`);
    expect(narrow).toBe(email);
    expect(userCell(user)).toBe('alice');
  });

  it('gives USER the width the terminal has: the whole session and role on a wide one', () => {
    // Act
    const lines = formatTable([sso, user], tableColumns([sso, user]), { width: 200 });
    // Assess
    expect(userColumn(lines)).toEqual([`${email} (${role})`, 'alice']);
    for (const line of lines) expect(textWidth(line)).toBeLessThanOrEqual(200);
  });

  it('keeps the whole session name on a 100-column terminal, leaving out the role and then the account', () => {
    // Act
    const lines = formatTable([sso, user], tableColumns([sso, user]), { width: 100 });
    // Assess
    expect(userColumn(lines)).toEqual([email, 'alice']);
    expect(lines[0]).not.toContain('ACCOUNT');
    for (const line of lines) expect(textWidth(line)).toBeLessThanOrEqual(100);
  });

  it('cuts nothing when the width is unbounded (output to a pipe)', () => {
    // Prepare: a value far over every column's maximum
    const long = toRow({ file, record: record({ eventName: `Describe${'X'.repeat(120)}` }) });
    // Act
    const lines = formatTable([sso, long], tableColumns([sso, long]), { width: Number.POSITIVE_INFINITY });
    // Assess
    expect(lines.join('\n')).not.toContain('…');
    expect(lines[1]).toContain(`${email} (${role})`);
    expect(lines[2]).toContain(`ec2:Describe${'X'.repeat(120)}`);
  });
});

describe('time ranges', () => {
  const now = new Date('2026-11-20T12:00:00Z');

  it('parses both ends against the same now and names the option of a bad one', () => {
    // Act
    const range = timeRange({ flag: '--start-time', text: '-2h' }, { flag: '--end-time', text: 'now' }, now);
    // Assess
    expect(range).toEqual({ start: new Date('2026-11-20T10:00:00Z'), end: now });
    expect(() => timeRange({ flag: '--from', text: 'soon' }, { flag: '--to', text: undefined }, now)).toThrow(
      /^--from: expected an ISO 8601 time/,
    );
  });

  it('refuses a start after the end as a usage error', () => {
    // Act
    let error: unknown;
    try {
      timeRange({ flag: '--start-time', text: '-1h' }, { flag: '--end-time', text: '-2h' }, now);
    } catch (err) {
      error = err;
    }
    // Assess
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    expect((error as CliError).message).toBe(
      '--start-time 2026-11-20T11:00:00.000Z is after --end-time 2026-11-20T10:00:00.000Z: expected the start at or before the end',
    );
  });
});

describe('progress', () => {
  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, isTTY, columns: 60, write: (s: string) => written.push(s) };
  };

  it('draws totals on a terminal within its width, and nothing when piped', () => {
    // Prepare
    const ci = process.env.CI;
    delete process.env.CI;
    const tty = stream(true);
    const pipe = stream(false);
    try {
      // Act
      for (const s of [tty, pipe]) {
        const bar = new ProgressBar('lookup', s);
        bar.start(40, true);
        bar.update(12, 'x'.repeat(100));
        bar.done();
      }
    } finally {
      if (ci !== undefined) process.env.CI = ci;
    }
    // Assess
    expect(pipe.written).toEqual([]);
    expect(tty.written[0]).toContain('12/40+');
    expect(textWidth(tty.written[0].replace('\r\x1b[2K', ''))).toBeLessThanOrEqual(59);
    expect(tty.written.at(-1)).toBe('\r\x1b[2K');
  });
});
