/**
 * What ingest does with each record of a log file (its summary, the rules, its lookup index) and what it makes
 * of them at the end. One definition for both ways a file is read: in the thread that reads it (the Lambdas,
 * small files) and in a thread beside it ({@link EvaluationOffload}: `trailwatch replay` of a large file), so
 * that the two give the same summary, matches and index.
 */
import { FileIndexBuilder } from '#shared/logfile/file-index.ts';
import type { RecordLayoutBuilder } from '#shared/logfile/record-layout.ts';
import type { RecordRunsWriter, RecordScanner, ScanStats } from '#shared/logfile/scanner.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import {
  type CountObservation,
  RuleEvaluator,
  type RuleMatches,
  type RuleSuppressions,
} from '#shared/rules/evaluate.ts';
import type { ActiveExceptions } from '#shared/rules/exceptions.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import { type LogFileSummary, SummaryBuilder } from '#shared/summary.ts';

/** What one pass over a log file yields. */
export interface EvaluatedLogFile {
  summary: LogFileSummary;
  matches: RuleMatches[];
  /** Count rules' matching events of this file, by group (applied to their state in step 2). */
  counts?: CountObservation[];
  /** Matches exceptions silenced, per rule (absent: none). */
  suppressed?: RuleSuppressions[];
  /** SHA-256 (hex) of the file's uncompressed bytes: the hash CloudTrail's digest lists for it. */
  hash: string;
}

export interface EvaluationSetup {
  /** Delivery time from the file's name. */
  deliveredAt: Date;
  /** The event times a genuine file can hold (limits.ts eventTimeRange). */
  eventTimes?: { from: number; to: number };
  /** Exceptions in force for this file. */
  exceptions?: ActiveExceptions;
}

/** What only the reading side knows, needed at the end. */
export interface FileFacts {
  source: LogFileSummary['source'];
  sha256: string;
  account: string;
  region: string;
  orgId?: string;
  stats: ScanStats;
}

export class LogFileEvaluation {
  private readonly builder: SummaryBuilder;
  private readonly evaluator: RuleEvaluator;
  private readonly index: FileIndexBuilder | undefined;

  /** `withIndex` false: the summary comes without its index, which the reading thread builds meanwhile. */
  constructor(rules: readonly Rule[], setup: EvaluationSetup, withIndex = true) {
    this.builder = new SummaryBuilder(setup.deliveredAt, setup.eventTimes);
    this.evaluator = new RuleEvaluator(rules, setup.exceptions ? { exceptions: setup.exceptions } : {});
    this.index = withIndex ? new FileIndexBuilder() : undefined;
  }

  /** Where the reading scanner notes the records' places, for the index (undefined without one). */
  get recordLayout(): RecordLayoutBuilder | undefined {
    return this.index?.layout;
  }

  add(records: readonly CloudTrailRecord[]): void {
    const index = this.index;
    for (const r of records) {
      this.builder.add(r);
      this.evaluator.onRecord(r);
      index?.add(r);
    }
  }

  finish(facts: FileFacts): EvaluatedLogFile {
    const { stats } = facts;
    const summary = this.builder.build({
      source: facts.source,
      sha256: facts.sha256,
      account: facts.account,
      region: facts.region,
      ...(facts.orgId ? { orgId: facts.orgId } : {}),
      bytes: stats.bytes,
      badRecords: { invalid: stats.invalidRecords, oversized: stats.oversizedRecords.length },
    });
    if (this.index) withIndex(summary, this.index);
    const suppressed = this.evaluator.suppressions();
    return {
      summary,
      matches: this.evaluator.results(),
      counts: this.evaluator.counts(),
      ...(suppressed.length > 0 ? { suppressed } : {}),
      hash: facts.sha256,
    };
  }
}

/** Puts the file's index in its summary. */
export function withIndex(summary: LogFileSummary, index: FileIndexBuilder): void {
  // Last key of the summary: a reader after the index alone finds it without parsing the rest.
  summary.index = index.build({ ...summary.source });
}

/**
 * Evaluates a file's rules and summary in another thread while the reading thread decompresses, hashes and
 * parses the records and builds the index: a large file then takes about the longer of the two halves rather
 * than their sum. The other thread gets the records' bytes (`RecordRuns`) and parses them again (parsing is
 * cheaper than handing over parsed records); the evaluation is {@link LogFileEvaluation}'s, so the result is
 * the same.
 */
export interface EvaluationOffload {
  /**
   * A session for one file of `size` (compressed) bytes evaluated with `rules`, or undefined when the file is
   * better read in one thread (small: a thread's start and hand-over cost more than they save) or the
   * offload was not set up for these rules.
   */
  open(size: number, rules: readonly Rule[], setup: EvaluationSetup): EvaluationSession | undefined;
}

/**
 * The other thread failed (it died, or threw): not the file's fault, so ingest reads the file again in its
 * own thread. Every failure of a session is one of these.
 */
export class OffloadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface EvaluationSession {
  /** Where the reading side copies the records' bytes (its {@link RecordScanner}'s `copyTo`). */
  readonly runs: RecordRunsWriter;
  /** Hands over what `runs` holds when it is worth a batch; resolves when there is room for more. */
  flush(): Promise<void>;
  /** The evaluation, once every record is in: its summary without the index. */
  finish(facts: FileFacts): Promise<EvaluatedLogFile>;
  /** The file turned out unusable (or reading failed): drop what was sent. */
  abort(): void;
}
