/** Small formatting helpers for human-readable command output. */
import type { WarmUp } from '#shared/insights/index.ts';

/** Thousands separated by commas; whole numbers without Intl, whose first use costs tens of milliseconds. */
export const n = (v: number): string =>
  Number.isSafeInteger(v) ? String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : v.toLocaleString('en-US');

export function bytes(v: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function plural(count: number, word: string, many = `${word}s`): string {
  return `${n(count)} ${count === 1 ? word : many}`;
}

/** A length of time as people say it: `56 min`, `24 h`, `3 h 5 min`, `2 d 4 h`. */
export function minutesText(minutes: number): string {
  const m = Math.max(0, Math.round(minutes));
  if (m < 60) return `${m} min`;
  if (m < 48 * 60) return m % 60 === 0 ? `${m / 60} h` : `${Math.floor(m / 60)} h ${m % 60} min`;
  const hours = Math.floor(m / 60);
  return hours % 24 === 0 ? `${hours / 24} d` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/**
 * Why detection could not open an insight yet: the history it needs and the history each account+region
 * has, e.g. "baselines need 24 h of history per account and region, this trail has 56 min (us-east-1)".
 * The account is named only when the places span more than one.
 */
export function warmUpText(cold: readonly WarmUp[], shown = 4): string {
  if (cold.length === 0) return '';
  const accounts = new Set(cold.map((w) => w.account));
  const place = (w: WarmUp) => (accounts.size > 1 ? `${w.account} ${w.region}` : w.region);
  const sorted = [...cold].sort(
    (a, b) => b.historyMinutes - a.historyMinutes || place(a).localeCompare(place(b)),
  );
  const parts = sorted.slice(0, shown).map((w) => `${minutesText(w.historyMinutes)} (${place(w)})`);
  if (sorted.length > shown) parts.push(`and ${sorted.length - shown} more with less`);
  return `baselines need ${minutesText(cold[0].neededMinutes)} of history per account and region, this trail has ${parts.join(', ')}`;
}
