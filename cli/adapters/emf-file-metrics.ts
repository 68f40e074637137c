/**
 * Powertools Metrics that writes its EMF documents to a JSON Lines file instead of stdout, for replay: the
 * same documents CloudWatch would receive, one per line.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';

export interface EmfSink {
  append(emf: unknown): void;
}

export class CapturingMetrics extends Metrics {
  private readonly sink: EmfSink;
  private readonly options: ConstructorParameters<typeof Metrics>[0];

  constructor(options: ConstructorParameters<typeof Metrics>[0], sink: EmfSink) {
    super(options);
    this.sink = sink;
    this.options = options;
  }

  /** Powertools' own would print to stdout; this one writes to the same file (same service dimension). */
  override singleMetric(): Metrics {
    return new CapturingMetrics({ ...this.options, singleMetric: true }, this.sink);
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
