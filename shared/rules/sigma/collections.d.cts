export interface SigmaCollection {
  dir: string;
  source: string;
  license?: string;
  vendored: boolean;
}
export declare const SIGMA_COLLECTIONS: readonly SigmaCollection[];
export declare const SIGMA_BUNDLE_FILE: string;
