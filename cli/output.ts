/**
 * Output of row-shaped results in the three formats commands offer: an aligned table for people, JSON
 * lines and CSV (RFC 4180) for programs.
 *
 * Table cells show text that came from outside (user agents, resource names are chosen by whoever made
 * the call), so control characters and bidirectional overrides are shown escaped: a crafted value must
 * not be able to move the cursor, recolour the terminal or reorder what a reader sees. JSON escapes them
 * by itself; CSV keeps values as they are, so that they parse back unchanged.
 */

export const OUTPUT_FORMATS = ['table', 'json', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface TableColumn<T> {
  header: string;
  cell(row: T): string | null | undefined;
  /** Narrowest it may become (default: its header's length, at least 3). */
  min?: number;
  /** Width it keeps while less wanted columns are dropped or squeezed (default: `min`). */
  want?: number;
  /** Widest it grows to (default: unbounded). */
  max?: number;
  /** When the `want` widths do not fit, columns are dropped highest first; 0 (default) is always kept. */
  dropOrder?: number;
  align?: 'left' | 'right';
  /** Left out when no row has a value for it, so an empty column takes no room. */
  hideWhenEmpty?: boolean;
  /**
   * The cell for a column narrower than its text, when something shorter says more than the text cut
   * short (still cut with an ellipsis if it does not fit either).
   */
  narrow?(row: T, width: number): string | null | undefined;
}

export const ELLIPSIS = '…';

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A value as one line of inert text: null becomes '', control and bidi characters are escaped. */
export function displayText(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : String(value);
  return s.replace(UNSAFE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.codePointAt(0)!;
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Length in code points (what a terminal shows for text without wide characters). */
export function textWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** At most `width` code points; a cut is marked with an ellipsis. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  if (textWidth(s) <= width) return s;
  const points = Array.from(s);
  return `${points.slice(0, width - 1).join('')}${ELLIPSIS}`;
}

function pad(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - textWidth(s)));
  return align === 'right' ? fill + s : s + fill;
}

export interface TableLayout<T> {
  columns: TableColumn<T>[];
  widths: number[];
}

/**
 * Fits columns into `width`. Each column would take its widest cell (up to `max`; with an infinite width,
 * as output to a pipe has, `max` does not apply and nothing is cut).
 * 1. While the `want` widths do not fit, the column with the highest `dropOrder` is looked at: if the rest
 *    would fit with it squeezed to its `min`, it stays (to be squeezed); otherwise it is dropped.
 * 2. Columns wider than their `want` shrink, the furthest above it first.
 * 3. If that is not enough, droppable columns shrink to their `min`, highest `dropOrder` first, then the
 *    others, widest first. A table whose minimums do not fit overflows.
 */
export function layoutTable<T>(
  cells: string[][],
  columns: TableColumn<T>[],
  width: number,
  gap = 2,
): TableLayout<T> {
  const bounded = Number.isFinite(width);
  const natural = columns.map((c, i) => {
    let w = textWidth(c.header);
    for (const row of cells) w = Math.max(w, textWidth(row[i]));
    return bounded ? Math.min(w, c.max ?? Number.POSITIVE_INFINITY) : w;
  });
  const floor = columns.map((c, i) => Math.min(natural[i], c.min ?? Math.max(3, textWidth(c.header))));
  const want = columns.map((c, i) => Math.min(natural[i], Math.max(floor[i], c.want ?? floor[i])));
  const order = (i: number) => columns[i].dropOrder ?? 0;
  let keep = columns
    .map((_, i) => i)
    .filter((i) => !columns[i].hideWhenEmpty || cells.some((row) => row[i] !== ''));
  const total = (ws: (i: number) => number) =>
    keep.reduce((a, i) => a + ws(i), 0) + gap * Math.max(0, keep.length - 1);
  const droppable = () => keep.filter((i) => order(i) > 0).sort((a, b) => order(b) - order(a));
  for (const i of droppable()) {
    if (total((k) => want[k]) <= width) break;
    if (total((k) => (k === i ? floor[k] : want[k])) <= width) break;
    keep = keep.filter((k) => k !== i);
  }
  const widths = [...natural];
  let over = total((k) => widths[k]) - width;
  const shrink = (i: number, to: number) => {
    const by = Math.max(0, Math.min(over, widths[i] - to));
    widths[i] -= by;
    over -= by;
  };
  while (over > 0) {
    let pick = -1;
    for (const i of keep) {
      if (widths[i] > want[i] && (pick < 0 || widths[i] - want[i] > widths[pick] - want[pick])) pick = i;
    }
    if (pick < 0) break;
    shrink(pick, widths[pick] - 1);
  }
  for (const i of droppable()) shrink(i, floor[i]);
  while (over > 0) {
    let pick = -1;
    for (const i of keep) if (widths[i] > floor[i] && (pick < 0 || widths[i] > widths[pick])) pick = i;
    if (pick < 0) break;
    shrink(pick, widths[pick] - 1);
  }
  return { columns: keep.map((i) => columns[i]), widths: keep.map((i) => widths[i]) };
}

/** An aligned table, one string per line (header first), fitted into `width` columns. */
export function formatTable<T>(
  rows: T[],
  columns: TableColumn<T>[],
  options: { width?: number; gap?: number } = {},
): string[] {
  const gap = options.gap ?? 2;
  const cells = rows.map((row) => columns.map((c) => displayText(c.cell(row))));
  const layout = layoutTable(cells, columns, options.width ?? 120, gap);
  const index = layout.columns.map((c) => columns.indexOf(c));
  const line = (values: string[], aligns: ('left' | 'right' | undefined)[]) =>
    values
      .map((v, k) => pad(truncate(v, layout.widths[k]), layout.widths[k], aligns[k]))
      .join(' '.repeat(gap))
      .trimEnd();
  const aligns = layout.columns.map((c) => c.align);
  const fitted = (r: number, i: number, k: number) => {
    const text = cells[r][i];
    const column = layout.columns[k];
    const width = layout.widths[k];
    return column.narrow && textWidth(text) > width ? displayText(column.narrow(rows[r], width)) : text;
  };
  return [
    line(
      layout.columns.map((c) => c.header),
      aligns,
    ),
    ...cells.map((_, r) =>
      line(
        index.map((i, k) => fitted(r, i, k)),
        aligns,
      ),
    ),
  ];
}

/** One CSV field (RFC 4180): quoted when it holds a quote, comma, CR or LF; quotes doubled. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV record with RFC 4180's CRLF line break. */
export function csvRecord(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** Exactly one JSON object per line: JSON.stringify never emits a raw line break. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/**
 * Columns of the terminal a stream writes to; else `$COLUMNS`; else the fallback (Infinity for output that
 * should not be cut at all when it goes to a pipe or a file).
 */
export function terminalWidth(
  stream: { isTTY?: boolean; columns?: number } = process.stdout,
  fallback = 120,
): number {
  if (stream.isTTY && stream.columns && stream.columns > 0) return stream.columns;
  const env = Number.parseInt(process.env.COLUMNS ?? '', 10);
  return Number.isInteger(env) && env > 0 ? env : fallback;
}
