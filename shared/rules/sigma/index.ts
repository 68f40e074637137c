/**
 * Sigma rules, natively: YAML in, one compiled function per rule out (compiled once per process and cached
 * by the rule's data), with the eventName / eventSource a rule requires so the evaluator can skip it quickly.
 *
 *   const [rule] = parseSigmaFile({ file: 'my-rule.yml', text });
 *   sigmaMatcher(rule.sigma!).match(record) // boolean, never throws
 */
import type { SigmaInfo } from '#shared/rules/rule-types.ts';
import { type CompiledDetection, compileDetection, type Matcher } from '#shared/rules/sigma/detection.ts';

export type { CompiledDetection, Matcher } from '#shared/rules/sigma/detection.ts';
export { compileDetection, SUPPORTED_MODIFIERS } from '#shared/rules/sigma/detection.ts';
export { SigmaError } from '#shared/rules/sigma/errors.ts';
export { parseSigmaFile, parseSigmaFiles, type SigmaSource } from '#shared/rules/sigma/load-sigma.ts';

const cache = new WeakMap<SigmaInfo, CompiledDetection>();

function union(sets: (ReadonlySet<string> | undefined)[]): ReadonlySet<string> | undefined {
  if (sets.some((s) => s === undefined)) return undefined;
  return new Set(sets.flatMap((s) => [...(s as ReadonlySet<string>)]));
}

/**
 * The compiled detection of a Sigma rule; for a count rule, the detection of the events it counts (a match of
 * any of its rules). Rules reach here validated by the loader, so this does not throw for them.
 */
export function sigmaMatcher(info: SigmaInfo): CompiledDetection {
  const hit = cache.get(info);
  if (hit) return hit;
  let compiled: CompiledDetection;
  if (info.correlation) {
    const parts = info.correlation.detections.map(compileDetection);
    const ms: Matcher[] = parts.map((p) => p.match);
    const eventNames = union(parts.map((p) => p.eventNames));
    const eventSources = union(parts.map((p) => p.eventSources));
    compiled = {
      match: ms.length === 1 ? ms[0] : (r) => ms.some((m) => m(r)),
      ...(eventNames ? { eventNames } : {}),
      ...(eventSources ? { eventSources } : {}),
      fields: [...new Set(parts.flatMap((p) => p.fields))],
    };
  } else compiled = compileDetection(info.detection);
  cache.set(info, compiled);
  return compiled;
}
