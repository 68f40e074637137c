/** Resources a CloudTrail record names, the way Event history shows them (see extract.ts). */
export {
  ARN_TYPES,
  arnType,
  arnTypePatterns,
  extractResources,
  nameMatches,
  namesResource,
  parsePath,
  resourceNameCandidates,
  ruleApplies,
  valuesAt,
} from './extract.ts';
export { TABLES } from './services/all-services.ts';
export type { ResourceRef, ResourceRule, ServiceTable } from './table.ts';
