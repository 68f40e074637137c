/** Why a trail could not be generated: a scenario that makes no sense, a missing sample key. */
export class GeneratorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
