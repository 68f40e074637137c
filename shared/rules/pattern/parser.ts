/**
 * Lexer and recursive-descent parser for CloudWatch Logs JSON filter patterns.
 *
 * Grammar (precedence as documented by CloudWatch: parentheses, then `&&`, then `||`):
 *
 *   pattern   := '{' or '}'
 *   or        := and ( '||' and )*
 *   and       := unary ( '&&' unary )*
 *   unary     := '(' or ')' | condition
 *   condition := SELECTOR ( OP value | 'NOT' 'EXISTS' | 'IS' ( 'NULL' | 'TRUE' | 'FALSE' ) )
 *   SELECTOR  := '$' ( '.' STEP ( '[' ( DIGITS | '*' ) ']' )* )+
 *   STEP      := NAME | '*' | "['" QUOTED "']"                  NAME := [A-Za-z0-9_-]+
 *   OP        := '=' | '!=' | '<' | '>' | '<=' | '>='
 *   value     := '"' quoted '"' | BARE | '%' regex '%'
 *
 * Restrictions taken from CloudWatch so that a pattern accepted here is also a valid metric filter:
 * at most 1024 characters, at most 2 regular expressions, relational operators only with numbers,
 * array indices and `[*]` only after a property (`$.a[0]`, `$.a[*]`, never `$[0]`), property names with
 * other characters in brackets (`$.['cluster.name']`), `.*` for any property, and regular expressions
 * made only of letters, digits, `: _ # = @ / ; , -` and the operators `^ $ ? [ ] { } | \ * + .`.
 */
import {
  ANY_ELEMENT,
  ANY_PROPERTY,
  type Literal,
  type Node,
  type Operator,
  type Segment,
} from '#shared/rules/pattern/ast.ts';
import { PatternError } from '#shared/rules/pattern/errors.ts';

export const MAX_PATTERN_LENGTH = 1024;
export const MAX_REGEX_PER_PATTERN = 2;

type Token =
  | { t: 'punct'; v: '{' | '}' | '(' | ')' | '&&' | '||'; col: number }
  | { t: 'op'; v: Operator; col: number }
  | { t: 'selector'; path: readonly Segment[]; text: string; col: number }
  | { t: 'string'; v: string; col: number }
  | { t: 'bare'; v: string; col: number }
  | { t: 'regex'; v: string; col: number }
  | { t: 'eof'; col: number };

const NAME_CHAR = /[A-Za-z0-9_-]/;
const BARE_CHAR = /[A-Za-z0-9_.\-*:/+]/;
const REGEX_CHAR = /[A-Za-z0-9:_#=@/;,\-^$?[\]{}|\\*+.]/;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const KEYWORDS = new Set(['NOT', 'EXISTS', 'IS', 'NULL', 'TRUE', 'FALSE']);

/** True when a bare value reads as a number in the filter-pattern grammar. */
export function isNumberText(text: string): boolean {
  return NUMBER.test(text);
}

function describe(tok: Token): string {
  switch (tok.t) {
    case 'eof':
      return 'end of pattern';
    case 'punct':
    case 'op':
      return `'${tok.v}'`;
    case 'selector':
      return `selector ${tok.text}`;
    case 'string':
      return `string ${JSON.stringify(tok.v)}`;
    case 'bare':
      return KEYWORDS.has(tok.v) ? `keyword ${tok.v}` : `value '${tok.v}'`;
    case 'regex':
      return `regular expression %${tok.v}%`;
  }
}

function describeChar(ch: string | undefined): string {
  if (ch === undefined) return 'end of pattern';
  if (ch === ' ') return 'a space';
  return JSON.stringify(ch);
}

class Lexer {
  private pos = 0;
  private peeked: Token | undefined;
  regexCount = 0;
  readonly src: string;

  constructor(src: string) {
    this.src = src;
  }

  fail(col: number, expected: string, found: string): never {
    throw new PatternError(this.src, col, expected, found);
  }

  peek(): Token {
    this.peeked ??= this.scan();
    return this.peeked;
  }

  next(): Token {
    const tok = this.peek();
    this.peeked = undefined;
    return tok;
  }

  private scan(): Token {
    const s = this.src;
    while (
      this.pos < s.length &&
      (s[this.pos] === ' ' || s[this.pos] === '\t' || s[this.pos] === '\n' || s[this.pos] === '\r')
    )
      this.pos++;
    const start = this.pos;
    const col = start + 1;
    if (start >= s.length) return { t: 'eof', col };
    const c = s[start];
    const c2 = s[start + 1];
    switch (c) {
      case '{':
      case '}':
      case '(':
      case ')':
        this.pos++;
        return { t: 'punct', v: c, col };
      case '&':
      case '|':
        if (c2 !== c) this.fail(col, `'${c}${c}'`, `'${c}' followed by ${describeChar(c2)}`);
        this.pos += 2;
        return { t: 'punct', v: c === '&' ? '&&' : '||', col };
      case '=':
        this.pos++;
        return { t: 'op', v: '=', col };
      case '!':
        if (c2 !== '=') this.fail(col, "'!='", `'!' followed by ${describeChar(c2)}`);
        this.pos += 2;
        return { t: 'op', v: '!=', col };
      case '<':
      case '>':
        if (c2 === '=') {
          this.pos += 2;
          return { t: 'op', v: c === '<' ? '<=' : '>=', col };
        }
        this.pos++;
        return { t: 'op', v: c, col };
      case '$':
        return this.selector();
      case '"':
        return this.quoted();
      case '%':
        return this.regex();
    }
    if (BARE_CHAR.test(c)) {
      while (this.pos < s.length && BARE_CHAR.test(s[this.pos])) this.pos++;
      return { t: 'bare', v: s.slice(start, this.pos), col };
    }
    return this.fail(
      col,
      'a selector, an operator or a value (quote values that contain characters other than letters, digits and _ - . : / * +)',
      describeChar(c),
    );
  }

  private selector(): Token {
    const s = this.src;
    const start = this.pos;
    const path: Segment[] = [];
    this.pos++;
    if (s[this.pos] !== '.') {
      const found =
        s[this.pos] === '['
          ? "'[' (an array index must follow a property, e.g. $.items[0])"
          : describeChar(s[this.pos]);
      this.fail(this.pos + 1, "'.' after '$'", found);
    }
    for (;;) {
      const ch = s[this.pos];
      if (ch === '.') {
        this.pos++;
        if (s[this.pos] === '*') {
          this.pos++;
          path.push(ANY_PROPERTY);
          continue;
        }
        if (s[this.pos] === '[' && s[this.pos + 1] === "'") {
          path.push(this.bracketName());
          continue;
        }
        const nameStart = this.pos;
        while (this.pos < s.length && NAME_CHAR.test(s[this.pos])) this.pos++;
        if (this.pos === nameStart) {
          this.fail(
            this.pos + 1,
            "a property name (letters, digits, '_' or '-'), '*' or ['name'] after '.'",
            describeChar(s[this.pos]),
          );
        }
        path.push(s.slice(nameStart, this.pos));
      } else if (ch === '[') {
        this.pos++;
        if (s[this.pos] === '*') {
          if (s[this.pos + 1] !== ']')
            this.fail(this.pos + 2, "']' after '[*'", describeChar(s[this.pos + 1]));
          this.pos += 2;
          path.push(ANY_ELEMENT);
          continue;
        }
        const numStart = this.pos;
        while (this.pos < s.length && s[this.pos] >= '0' && s[this.pos] <= '9') this.pos++;
        if (this.pos === numStart) {
          const found =
            s[this.pos] === "'"
              ? "a quoted name (write a property name in brackets after a dot: $.['cluster.name'])"
              : describeChar(s[this.pos]);
          this.fail(this.pos + 1, "an array index (digits) or '*' after '['", found);
        }
        const index = Number(s.slice(numStart, this.pos));
        if (s[this.pos] !== ']')
          this.fail(this.pos + 1, "']' after the array index", describeChar(s[this.pos]));
        this.pos++;
        path.push(index);
      } else {
        break;
      }
    }
    return { t: 'selector', path, text: s.slice(start, this.pos), col: start + 1 };
  }

  /** `['any name']` after a dot: a property name with characters a bare name cannot hold. */
  private bracketName(): string {
    const s = this.src;
    const col = this.pos + 1;
    this.pos += 2;
    let name = '';
    for (;;) {
      if (this.pos >= s.length)
        this.fail(
          s.length + 1,
          `a closing "']" for the property name opened at column ${col}`,
          'end of pattern',
        );
      const c = s[this.pos];
      if (c === '\\' && (s[this.pos + 1] === "'" || s[this.pos + 1] === '\\')) {
        name += s[this.pos + 1];
        this.pos += 2;
        continue;
      }
      if (c === "'") break;
      name += c;
      this.pos++;
    }
    if (s[this.pos + 1] !== ']')
      this.fail(this.pos + 2, `']' after the quoted property name`, describeChar(s[this.pos + 1]));
    if (name === '') this.fail(col + 2, 'a property name between the quotes', "''");
    this.pos += 2;
    return name;
  }

  private quoted(): Token {
    const s = this.src;
    const col = this.pos + 1;
    let out = '';
    this.pos++;
    for (;;) {
      if (this.pos >= s.length)
        this.fail(s.length + 1, `a closing '"' for the string opened at column ${col}`, 'end of pattern');
      const ch = s[this.pos];
      if (ch === '"') {
        this.pos++;
        return { t: 'string', v: out, col };
      }
      if (ch === '\\' && (s[this.pos + 1] === '"' || s[this.pos + 1] === '\\')) {
        out += s[this.pos + 1];
        this.pos += 2;
        continue;
      }
      out += ch;
      this.pos++;
    }
  }

  private regex(): Token {
    const s = this.src;
    const col = this.pos + 1;
    const end = s.indexOf('%', this.pos + 1);
    if (end < 0)
      this.fail(
        s.length + 1,
        `a closing '%' for the regular expression opened at column ${col}`,
        'end of pattern',
      );
    const body = s.slice(this.pos + 1, end);
    if (body.length === 0) this.fail(col + 1, "a regular expression between '%' and '%'", "'%'");
    for (let i = 0; i < body.length; i++) {
      const ch = body[i];
      if (!REGEX_CHAR.test(ch)) {
        const why =
          ch === '(' || ch === ')'
            ? ' (CloudWatch does not support sub-patterns in parentheses)'
            : ch.charCodeAt(0) > 127
              ? ' (CloudWatch does not support multi-byte characters in regular expressions)'
              : '';
        this.fail(
          col + 1 + i,
          'a regular-expression character (letters, digits, : _ # = @ / ; , - or one of ^ $ ? [ ] { } | \\ * + .)',
          `${describeChar(ch)}${why}`,
        );
      }
    }
    this.regexCount++;
    if (this.regexCount > MAX_REGEX_PER_PATTERN) {
      this.fail(
        col,
        `at most ${MAX_REGEX_PER_PATTERN} regular expressions in one pattern (CloudWatch's limit)`,
        `a regular expression number ${this.regexCount}`,
      );
    }
    try {
      new RegExp(body);
    } catch (err) {
      this.fail(col + 1, 'a valid regular expression', `%${body}% (${(err as Error).message})`);
    }
    this.pos = end + 1;
    return { t: 'regex', v: body, col };
  }
}

function parseValue(lx: Lexer, op: { v: Operator; col: number }): Literal {
  const tok = lx.next();
  const relational = op.v !== '=' && op.v !== '!=';
  let lit: Literal;
  if (tok.t === 'string') lit = { kind: 'string', value: tok.v, quoted: true };
  else if (tok.t === 'bare') {
    lit = isNumberText(tok.v)
      ? { kind: 'number', value: Number(tok.v), text: tok.v }
      : { kind: 'string', value: tok.v, quoted: false };
  } else if (tok.t === 'regex') lit = { kind: 'regex', source: tok.v };
  else return lx.fail(tok.col, `a value after '${op.v}'`, describe(tok));
  if (relational && lit.kind !== 'number') lx.fail(tok.col, `a number after '${op.v}'`, describe(tok));
  return lit;
}

function parseCondition(lx: Lexer): Node {
  const tok = lx.next();
  if (tok.t === 'punct' && tok.v === '(') {
    const inner = parseOr(lx);
    const close = lx.next();
    if (close.t !== 'punct' || close.v !== ')') {
      lx.fail(close.col, `'&&', '||' or ')' to close the '(' at column ${tok.col}`, describe(close));
    }
    return inner;
  }
  if (tok.t !== 'selector') return lx.fail(tok.col, "a selector such as $.eventName or '('", describe(tok));
  const path = tok.path;
  const after = lx.next();
  if (after.t === 'op') return { type: 'compare', path, op: after.v, value: parseValue(lx, after) };
  if (after.t === 'bare' && after.v === 'NOT') {
    const kw = lx.next();
    if (kw.t !== 'bare' || kw.v !== 'EXISTS') lx.fail(kw.col, "'EXISTS' after 'NOT'", describe(kw));
    return { type: 'notExists', path };
  }
  if (after.t === 'bare' && after.v === 'IS') {
    const kw = lx.next();
    if (kw.t === 'bare' && kw.v === 'NULL') return { type: 'isNull', path };
    if (kw.t === 'bare' && (kw.v === 'TRUE' || kw.v === 'FALSE'))
      return { type: 'isBoolean', path, value: kw.v === 'TRUE' };
    return lx.fail(kw.col, "'NULL', 'TRUE' or 'FALSE' after 'IS'", describe(kw));
  }
  return lx.fail(
    after.col,
    `an operator (= != < > <= >=), 'NOT EXISTS' or 'IS ...' after ${tok.text}`,
    describe(after),
  );
}

function parseAnd(lx: Lexer): Node {
  const items = [parseCondition(lx)];
  for (;;) {
    const tok = lx.peek();
    if (tok.t !== 'punct' || tok.v !== '&&') break;
    lx.next();
    items.push(parseCondition(lx));
  }
  return items.length === 1 ? items[0] : { type: 'and', items };
}

function parseOr(lx: Lexer): Node {
  const items = [parseAnd(lx)];
  for (;;) {
    const tok = lx.peek();
    if (tok.t !== 'punct' || tok.v !== '||') break;
    lx.next();
    items.push(parseAnd(lx));
  }
  return items.length === 1 ? items[0] : { type: 'or', items };
}

/** Parses a JSON filter pattern; throws {@link PatternError} with the column of the first problem. */
export function parsePattern(source: string): Node {
  if (typeof source !== 'string')
    throw new PatternError(String(source), 1, 'a pattern string', typeof source);
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new PatternError(
      source,
      MAX_PATTERN_LENGTH + 1,
      `a pattern of at most ${MAX_PATTERN_LENGTH} characters (CloudWatch's limit)`,
      `${source.length} characters`,
    );
  }
  const lx = new Lexer(source);
  const open = lx.next();
  if (open.t !== 'punct' || open.v !== '{') {
    lx.fail(
      open.col,
      "'{' to start a JSON filter pattern (text and space-delimited patterns are not supported)",
      describe(open),
    );
  }
  const root = parseOr(lx);
  const close = lx.next();
  if (close.t !== 'punct' || close.v !== '}') lx.fail(close.col, "'&&', '||' or '}'", describe(close));
  const end = lx.next();
  if (end.t !== 'eof') lx.fail(end.col, "end of pattern after '}'", describe(end));
  return root;
}
