import { describe, expect, it } from 'vitest';
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
import { parseTime, TimeFormatError } from '#cli/time.ts';
import { parseCsv } from '#test/support/csv.ts';

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
