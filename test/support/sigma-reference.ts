/**
 * A deliberately plain Sigma interpreter, the yardstick for shared/rules/sigma: it walks the detection as
 * written for every record (no compilation, no regular expressions for wildcards, no shortcuts), following
 * the semantics stated at the top of shared/rules/sigma/detection.ts. It assumes the rule is valid.
 */

type Rec = unknown;

/** Every value a dotted path reaches, arrays flattened. */
function valuesAt(node: unknown, path: string[]): unknown[] {
  if (Array.isArray(node)) return node.flatMap((x) => valuesAt(x, path));
  if (path.length === 0) return [node];
  if (node === null || typeof node !== 'object') return [];
  if (!Object.hasOwn(node, path[0])) return [];
  return valuesAt((node as Record<string, unknown>)[path[0]], path.slice(1));
}

function text(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

type Tok = { lit: string } | { star: true } | { one: true };

function globTokens(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length && '*?\\'.includes(s[i + 1])) {
      out.push({ lit: s[i + 1] });
      i += 2;
    } else if (c === '*') {
      out.push({ star: true });
      i++;
    } else if (c === '?') {
      out.push({ one: true });
      i++;
    } else {
      out.push({ lit: c });
      i++;
    }
  }
  return out;
}

/** Backtracking glob match over UTF-16 code units. */
function globMatch(toks: Tok[], s: string, ti = 0, si = 0): boolean {
  if (ti === toks.length) return si === s.length;
  const t = toks[ti];
  if ('star' in t) {
    for (let k = si; k <= s.length; k++) if (globMatch(toks, s, ti + 1, k)) return true;
    return false;
  }
  if (si >= s.length) return false;
  if ('one' in t) return globMatch(toks, s, ti + 1, si + 1);
  return s[si] === t.lit && globMatch(toks, s, ti + 1, si + 1);
}

function ipNumber(s: string): { v6: boolean; n: bigint } | undefined {
  const parts = s.split('.');
  if (parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) {
    return { v6: false, n: parts.reduce((n, p) => n * 256n + BigInt(p), 0n) };
  }
  if (!s.includes(':')) return undefined;
  // IPv6: expand "::", allow a trailing dotted IPv4.
  let groups: string[];
  let tailV4: bigint | undefined;
  let body = s;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = ipNumber(s.slice(lastColon + 1));
    if (!v4 || v4.v6) return undefined;
    tailV4 = v4.n;
    body = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = body.split('::');
  if (dbl.length > 2) return undefined;
  if (dbl.length === 2) {
    const left = dbl[0] ? dbl[0].split(':') : [];
    const right = dbl[1] ? dbl[1].split(':') : [];
    const fill = 8 - left.length - right.length;
    if (fill < 1) return undefined;
    groups = [...left, ...new Array(fill).fill('0'), ...right];
  } else groups = body.split(':');
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  let n = groups.reduce((acc, g) => acc * 65536n + BigInt(`0x${g}`), 0n);
  if (tailV4 !== undefined) n = n - (n % 4294967296n) + tailV4;
  return { v6: true, n };
}

function inCidr(ip: string, cidr: string): boolean {
  const [addr, lenText] = cidr.split('/');
  const net = ipNumber(addr);
  const a = ipNumber(ip);
  if (!net || !a || net.v6 !== a.v6) return false;
  const bits = net.v6 ? 128 : 32;
  const len = lenText === undefined ? bits : Number(lenText);
  const shift = BigInt(bits - len);
  return a.n >> shift === net.n >> shift;
}

function fieldMatches(record: Rec, key: string, raw: unknown): boolean {
  const [field, ...mods] = key.split('|');
  const has = (m: string) => mods.includes(m);
  const list = Array.isArray(raw) ? raw : [raw];
  const vals = valuesAt(record, field.split('.'));
  const present = vals.filter((v) => v !== null);
  if (has('exists')) return present.length > 0 === raw;
  const combine = (one: (pattern: unknown) => boolean) => (has('all') ? list.every(one) : list.some(one));
  if (has('re')) {
    const flags = ['i', 'm', 's'].filter(has).join('');
    return combine((p) => present.some((v) => new RegExp(String(p), flags).test(text(v) as string)));
  }
  if (has('cidr')) return combine((p) => present.some((v) => typeof v === 'string' && inCidr(v, String(p))));
  for (const op of ['lt', 'lte', 'gt', 'gte']) {
    if (!has(op)) continue;
    return combine((p) =>
      present.some((v) => {
        const n =
          typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
        if (Number.isNaN(n)) return false;
        const lim = p as number;
        return op === 'lt' ? n < lim : op === 'lte' ? n <= lim : op === 'gt' ? n > lim : n >= lim;
      }),
    );
  }
  const lower = (s: string) => (has('cased') ? s : s.toLowerCase());
  if (has('fieldref')) {
    return combine((other) =>
      present.some((v) =>
        valuesAt(record, String(other).split('.')).some((w) => {
          const a = text(v);
          const b = text(w);
          if (a === undefined || b === undefined) return false;
          const x = lower(a);
          const y = lower(b);
          if (has('contains')) return x.includes(y);
          if (has('startswith')) return x.startsWith(y);
          if (has('endswith')) return x.endsWith(y);
          return x === y;
        }),
      ),
    );
  }
  return combine((p) => {
    if (p === null) return present.length === 0;
    let pattern = lower(String(p));
    const escapedTail = /(^|[^\\])(\\\\)*\\\*$/.test(pattern);
    if ((has('contains') || has('endswith')) && !pattern.startsWith('*')) pattern = `*${pattern}`;
    if ((has('contains') || has('startswith')) && (!pattern.endsWith('*') || escapedTail))
      pattern = `${pattern}*`;
    const toks = globTokens(pattern);
    return present.some((v) => globMatch(toks, lower(text(v) as string)));
  });
}

function selectionMatches(record: Rec, sel: unknown): boolean {
  if (Array.isArray(sel)) return sel.some((m) => selectionMatches(record, m));
  return Object.entries(sel as Record<string, unknown>).every(([k, v]) => fieldMatches(record, k, v));
}

/** Evaluates `detection` on `record` by walking the condition text. */
export function referenceMatch(detection: Record<string, unknown>, record: Rec): boolean {
  const names = Object.keys(detection).filter((k) => k !== 'condition');
  const conds = Array.isArray(detection.condition) ? detection.condition : [detection.condition];
  const sel = (n: string) => selectionMatches(record, detection[n]);
  return conds.some((c: string) => {
    const toks = c.replace(/\(/g, ' ( ').replace(/\)/g, ' ) ').trim().split(/\s+/);
    let i = 0;
    const expr = (): boolean => {
      let v = term();
      while (toks[i] === 'or') {
        i++;
        const r = term();
        v = v || r;
      }
      return v;
    };
    const term = (): boolean => {
      let v = factor();
      while (toks[i] === 'and') {
        i++;
        const r = factor();
        v = v && r;
      }
      return v;
    };
    const factor = (): boolean => {
      const t = toks[i++];
      if (t === 'not') return !factor();
      if (t === '(') {
        const v = expr();
        i++; // ')'
        return v;
      }
      if (toks[i] === 'of') {
        const target = toks[i + 1];
        i += 2;
        const matching =
          target === 'them'
            ? names.filter((n) => !n.startsWith('_'))
            : names.filter((n) => new RegExp(`^${target.split('*').join('.*')}$`).test(n));
        return t === 'all' ? matching.every(sel) : matching.some(sel);
      }
      return sel(t);
    };
    return expr();
  });
}
