/**
 * Failures of the integrity checker itself (a store or key source that cannot be read, options that make
 * no sense). Bad digests and log files are never errors: they are verdicts (see verdict.ts).
 */
export class DigestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
