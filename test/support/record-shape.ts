/** The shape of a CloudTrail record's parts, to compare generated records with real ones. */

/**
 * Every key path in a value: `instancesSet.items[].instanceId`; arrays are walked element by element,
 * a scalar ends its path. Values do not matter, only which keys exist where.
 */
export function keyPaths(value: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) keyPaths(v, `${prefix}[]`, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${k}` : k;
      out.add(path);
      keyPaths(v, path, out);
    }
  }
  return out;
}

export const sorted = (s: Set<string>) => [...s].sort();
