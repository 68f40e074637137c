/**
 * A small seeded PRNG (xoshiro128**) and the draws the generator needs. Every random choice in a generated
 * trail comes from one of these, so a scenario's seed fixes every byte. Independent streams are derived
 * from the seed and a label, so that adding a burst or a region leaves the other streams' draws unchanged.
 */

/** FNV-1a over a string, then a splitmix32 finaliser: a well-spread 32-bit value for seeding. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h >>> 0);
}

function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream for `seed` and the labels (e.g. `traffic`, account, region). */
  constructor(seed: number, ...labels: string[]) {
    let s = hash32(`${seed}\u0000${labels.join('\u0000')}`);
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      return mix32(s);
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Index drawn from cumulative weights (last element = total). */
  pickCumulative(cumulative: readonly number[]): number {
    const x = this.float() * cumulative[cumulative.length - 1];
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Poisson count with mean `lambda`: exact for small means, normal approximation above 40. */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 40) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.float();
    while (p > limit) {
      k++;
      p *= this.float();
    }
    return k;
  }

  hex(chars: number): string {
    let out = '';
    while (out.length < chars) out += HEX[this.u32() & 0xff];
    return out.slice(0, chars);
  }

  /** Mixed-case letters and digits, like the unique part of a CloudTrail log file name. */
  alnum(chars: number): string {
    let out = '';
    for (let i = 0; i < chars; i++) out += ALNUM[this.int(ALNUM.length)];
    return out;
  }

  upperAlnum(chars: number): string {
    let out = '';
    for (let i = 0; i < chars; i++) out += UPPER_ALNUM[this.int(UPPER_ALNUM.length)];
    return out;
  }

  /** A version-4-shaped UUID. */
  uuid(): string {
    const a = this.u32();
    const b = this.u32();
    const c = this.u32();
    const d = this.u32();
    return (
      HEX[a >>> 24] +
      HEX[(a >>> 16) & 0xff] +
      HEX[(a >>> 8) & 0xff] +
      HEX[a & 0xff] +
      '-' +
      HEX[b >>> 24] +
      HEX[(b >>> 16) & 0xff] +
      '-' +
      HEX[0x40 | ((b >>> 8) & 0x0f)] +
      HEX[b & 0xff] +
      '-' +
      HEX[0x80 | ((c >>> 24) & 0x3f)] +
      HEX[(c >>> 16) & 0xff] +
      '-' +
      HEX[(c >>> 8) & 0xff] +
      HEX[c & 0xff] +
      HEX[d >>> 24] +
      HEX[(d >>> 16) & 0xff] +
      HEX[(d >>> 8) & 0xff] +
      HEX[d & 0xff]
    );
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
