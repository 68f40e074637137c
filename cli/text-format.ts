/** Small formatting helpers for human-readable command output. */
export const n = (v: number): string => v.toLocaleString('en-US');

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
