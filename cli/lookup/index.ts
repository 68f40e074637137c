/** `trailwatch lookup`: CloudTrail Event history's filters over a trail's own log files. */
export {
  arnResource,
  checkFilter,
  LookupError,
  type LookupFilter,
  matchesFilter,
  resourceId,
  userNames,
} from './filter.ts';
export { type LookupEvent, type LookupRow, ROW_FIELDS, toRow } from './row.ts';
export {
  DEFAULT_CONCURRENCY,
  type LookupOptions,
  type LookupOrder,
  type LookupResult,
  type LookupStats,
  lookup,
} from './scan.ts';
export {
  DAY_MS,
  type DayRange,
  dayRange,
  FileSelector,
  type SelectedFile,
  type SelectOptions,
} from './select-files.ts';
