/**
 * A byte prefilter: decides from a record's raw JSON bytes that it cannot match a query, so that the record is
 * never decoded nor parsed (parsing is most of a read's cost, and a lookup for one user or one event ID
 * throws away nearly every record it parses).
 *
 * A query gives groups of texts: a record may match only if, for every group, one of the group's texts is
 * one of its string values (or part of one, for names derived from a value, such as the session name at the
 * end of an ARN). Its bytes are then checked for the text's UTF-8 bytes.
 *
 * Never dropping a record that would match: JSON may write a character as an escape, so a string value that
 * equals the text need not contain its bytes. Texts that contain `"`, `\`, a control character or U+FFFD (what
 * invalid UTF-8 decodes to) can only be written with escapes, so a group holding one filters nothing. Any
 * other character can be escaped as `\uXXXX`, and `/` also as `\/`: a record holding `\u` (or `\/`, for a
 * text with a `/`) passes whatever its bytes. Records with such escapes are rare, so the filter stays sharp.
 */

const BACKSLASH_U = Buffer.from('\\u');
const BACKSLASH_SLASH = Buffer.from('\\/');

interface Group {
  needles: Buffer[];
  /** A text of the group holds `/`, which JSON may write as `\/`. */
  slash: boolean;
}

/** Whether JSON can write `text` only with escapes (or an invalid UTF-8 byte may stand for it). */
function needsEscapes(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0xfffd) return true;
    // A lone surrogate has no UTF-8 form: only `\uD8xx` writes it.
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    }
  }
  return false;
}

export class BytePrefilter {
  private readonly groups: Group[];
  private readonly anySlash: boolean;

  private constructor(groups: Group[]) {
    this.groups = groups;
    this.anySlash = groups.some((g) => g.slash);
  }

  /**
   * The prefilter for these groups (every group must hold, a group holds when any of its texts is present),
   * or undefined when no group can filter anything (none given, or each holds a text only escapes write).
   */
  static of(groups: readonly (readonly string[])[]): BytePrefilter | undefined {
    const usable: Group[] = [];
    for (const texts of groups) {
      if (texts.length === 0 || texts.some((t) => t === '' || needsEscapes(t))) continue;
      usable.push({
        needles: texts.map((t) => Buffer.from(t, 'utf8')),
        slash: texts.some((t) => t.includes('/')),
      });
    }
    return usable.length > 0 ? new BytePrefilter(usable) : undefined;
  }

  /** Whether the record in bytes[start, end) may match. */
  mayMatch(bytes: Buffer, start: number, end: number): boolean {
    const escaped = within(bytes, BACKSLASH_U, start, end);
    if (escaped) return true;
    const slashEscaped = this.anySlash && within(bytes, BACKSLASH_SLASH, start, end);
    for (const g of this.groups) {
      if (g.slash && slashEscaped) continue;
      if (!g.needles.some((n) => within(bytes, n, start, end))) return false;
    }
    return true;
  }

  /**
   * For `count` records lying one after the other in bytes (record i in [starts[i], ends[i])), which may match:
   * one search per text over the whole run instead of one per record.
   */
  select(bytes: Buffer, starts: ArrayLike<number>, ends: ArrayLike<number>, count: number): Uint8Array {
    const pass = new Uint8Array(count);
    const runStart = starts[0];
    const runEnd = ends[count - 1];
    const escaped = new Uint8Array(count);
    mark(bytes, BACKSLASH_U, starts, ends, count, runStart, runEnd, escaped);
    const slashEscaped = new Uint8Array(count);
    if (this.anySlash) mark(bytes, BACKSLASH_SLASH, starts, ends, count, runStart, runEnd, slashEscaped);
    pass.fill(1);
    const hit = new Uint8Array(count);
    for (const g of this.groups) {
      hit.fill(0);
      for (const n of g.needles) mark(bytes, n, starts, ends, count, runStart, runEnd, hit);
      for (let i = 0; i < count; i++) {
        if (!hit[i] && !escaped[i] && !(g.slash && slashEscaped[i])) pass[i] = 0;
      }
    }
    for (let i = 0; i < count; i++) if (escaped[i]) pass[i] = 1;
    return pass;
  }
}

function within(bytes: Buffer, needle: Buffer, start: number, end: number): boolean {
  const at = bytes.indexOf(needle, start);
  return at >= 0 && at + needle.length <= end;
}

/** Sets out[i] for every record i that holds `needle`. */
function mark(
  bytes: Buffer,
  needle: Buffer,
  starts: ArrayLike<number>,
  ends: ArrayLike<number>,
  count: number,
  runStart: number,
  runEnd: number,
  out: Uint8Array,
): void {
  let j = 0;
  let at = bytes.indexOf(needle, runStart);
  while (at >= 0 && at + needle.length <= runEnd) {
    while (j < count && ends[j] <= at) j++;
    if (j >= count) return;
    if (at >= starts[j] && at + needle.length <= ends[j]) {
      out[j] = 1;
      // The rest of this record need not be searched.
      at = bytes.indexOf(needle, ends[j]);
    } else {
      at = bytes.indexOf(needle, at + 1);
    }
  }
}
