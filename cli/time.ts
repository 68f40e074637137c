/**
 * Times as people type them for a lookup. CloudTrail's times are UTC, so a time without a zone is UTC,
 * not the machine's zone. Accepted:
 * - ISO 8601: `2026-11-20T10:01:30Z`, `2026-11-20T10:01:30.5+01:00`, `2026-11-20T10:01` (UTC), `2026-11-20 10:01`;
 * - a date alone, `2026-11-20`: the start of that day as a start time, its last millisecond as an end time,
 *   so `--start-time 2026-11-20 --end-time 2026-11-20` is that whole day;
 * - relative to now: `-90m`, `-2h`, `-7d`, `-1w` (or without the minus), and `now`;
 * - Unix time in seconds, as LookupEvents takes it: `1763632890`.
 *
 * Every command's time options go through {@link timeOption} and {@link timeRange}, so they all take the
 * same grammar and all refuse a start after the end.
 */
import { CliError } from '#cli/errors.ts';

export class TimeFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Whether the calendar fields exist (Date.UTC would roll 2026-02-31 over into March). */
function validFields(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return (
    t.getUTCFullYear() === y &&
    t.getUTCMonth() === mo - 1 &&
    t.getUTCDate() === d &&
    t.getUTCHours() === h &&
    t.getUTCMinutes() === mi &&
    t.getUTCSeconds() === s
  );
}

export function parseTime(text: string, bound: 'start' | 'end', now: Date = new Date()): Date {
  const s = text.trim();
  if (s.toLowerCase() === 'now') return new Date(now.getTime());
  const rel = /^-?(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(s);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2].toLowerCase()]);
  if (/^\d{9,11}(?:\.\d+)?$/.test(s)) return new Date(Math.round(Number(s) * 1000));
  const m = ISO_RE.exec(s);
  if (!m) {
    throw new TimeFormatError(
      `expected an ISO 8601 time (2026-11-20T10:01:30Z), a date (2026-11-20), a relative time (-2h, -7d) or Unix seconds, found '${text}'`,
    );
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, sec] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (!validFields(y, mo, d, h, mi, sec)) throw new TimeFormatError(`no such date or time: '${text}'`);
  if (m[4] === undefined) {
    const day = Date.UTC(y, mo - 1, d);
    return new Date(bound === 'end' ? day + 86_400_000 - 1 : day);
  }
  const fraction = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  let ms = Date.UTC(y, mo - 1, d, h, mi, sec) + fraction;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000;
    if (Number(z[2]) > 23 || Number(z[3]) > 59) throw new TimeFormatError(`invalid zone offset in '${text}'`);
    ms -= z[1] === '+' ? offset : -offset;
  }
  return new Date(ms);
}

/** A time option's value (undefined when not given); a value that is no time is a usage error naming the option. */
export function timeOption(
  flag: string,
  text: string | undefined,
  bound: 'start' | 'end',
  now: Date = new Date(),
): Date | undefined {
  if (text === undefined) return undefined;
  try {
    return parseTime(text, bound, now);
  } catch (err) {
    if (err instanceof TimeFormatError) throw new CliError(`${flag}: ${err.message}`, { cause: err });
    throw err;
  }
}

export interface TimeBound {
  flag: string;
  text: string | undefined;
}

/** A start and an end option, both parsed against the same `now`; a start after the end is a usage error. */
export function timeRange(
  start: TimeBound,
  end: TimeBound,
  now: Date = new Date(),
): { start?: Date; end?: Date } {
  const from = timeOption(start.flag, start.text, 'start', now);
  const to = timeOption(end.flag, end.text, 'end', now);
  if (from && to && from.getTime() > to.getTime()) {
    throw new CliError(
      `${start.flag} ${from.toISOString()} is after ${end.flag} ${to.toISOString()}: expected the start at or before the end`,
    );
  }
  return { ...(from ? { start: from } : {}), ...(to ? { end: to } : {}) };
}

/** A length of time as an option takes it: `30m`, `2h`, `90s`, `1d`, `1w` (a number alone is minutes). */
export function durationOption(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/i.exec(text.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[(m[2] || 'm').toLowerCase()] : Number.NaN;
  if (!(ms > 0)) {
    throw new CliError(`${flag}: expected a length of time such as 30m, 2h or 1d, found '${text}'`);
  }
  return ms;
}
