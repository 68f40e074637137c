export interface AthenaTableSettings {
  database?: string;
  table?: string;
  bucket?: string;
  prefix?: string;
  orgId?: string;
  /** Comma-separated account IDs. */
  accounts?: string;
  /** Comma-separated regions. */
  regions?: string;
  /** yyyy/MM/dd */
  startDate?: string;
}
export declare const COLUMNS: readonly [name: string, type: string][];
export declare const PARTITIONS: readonly string[];
export declare function createTableDdl(settings: AthenaTableSettings): string;
export declare function glueResources(settings: AthenaTableSettings): Record<string, unknown>;
export declare function tableSettings(settings: AthenaTableSettings): Required<
  Omit<AthenaTableSettings, 'accounts' | 'regions'>
> & {
  accounts: string[];
  regions: string[];
};
export declare function resources(args?: unknown): Promise<Record<string, unknown>>;
