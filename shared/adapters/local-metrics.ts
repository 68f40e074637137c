/**
 * Powertools Metrics that writes its EMF documents to a JSON Lines file instead of stdout, for replay: the
 * same documents CloudWatch would receive, one per line.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { JsonlFile } from '#shared/adapters/local-outbox.ts';

export class CapturingMetrics extends Metrics {
  private readonly sink: JsonlFile;

  constructor(options: ConstructorParameters<typeof Metrics>[0], sink: JsonlFile) {
    super(options);
    this.sink = sink;
  }

  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics()) this.sink.append(this.serializeMetrics());
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }
}
