/**
 * The thread that evaluates a large log file's rules and summary for replay (see evaluation-pool.ts): it gets
 * the records' bytes, parses them as the reading thread's scanner did, and runs the same
 * {@link LogFileEvaluation} as ingest in one thread, but for the index (the reading thread builds it). It
 * answers each batch with an ack (the reading thread waits for room) and the end of a file with its evaluation.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseRecordRuns } from '#shared/logfile/scanner.ts';
import { LogFileEvaluation } from '#shared/pipeline/log-file-evaluation.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { ActiveExceptions } from '#shared/rules/exceptions.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import type { EvaluationReply, EvaluationRequest } from './evaluation-pool.ts';

const port = parentPort;
if (!port) throw new Error('evaluation-worker.ts runs as a worker thread of trailwatch replay');
const { rules } = workerData as { rules: Rule[] };

interface Open {
  evaluation: LogFileEvaluation;
  /** What parsing found: the reading thread counted the same, and its counts go in the summary. */
  parsed: { records: number; invalidRecords: number };
}
const open = new Map<number, Open>();

function reply(r: EvaluationReply, transfer?: ArrayBuffer[]): void {
  (port as NonNullable<typeof port>).postMessage(r, transfer);
}

port.on('message', (req: EvaluationRequest) => {
  try {
    switch (req.type) {
      case 'open': {
        const { setup } = req;
        const evaluation = new LogFileEvaluation(
          rules,
          {
            deliveredAt: setup.deliveredAt,
            ...(setup.eventTimes ? { eventTimes: setup.eventTimes } : {}),
            ...(setup.exceptions ? { exceptions: new ActiveExceptions(setup.exceptions) } : {}),
          },
          false,
        );
        open.set(req.id, { evaluation, parsed: { records: 0, invalidRecords: 0 } });
        return;
      }
      case 'runs': {
        const file = open.get(req.id);
        // A file aborted meanwhile: its remaining batches are dropped.
        if (file) {
          const bytes = new Uint8Array(req.bytes, 0, req.length);
          const records = parseRecordRuns({ bytes, spans: req.spans }, file.parsed);
          file.evaluation.add(records as CloudTrailRecord[]);
        }
        // The buffer goes back to be filled again.
        reply({ type: 'ack', id: req.id, bytes: req.bytes }, [req.bytes]);
        return;
      }
      case 'finish': {
        const file = open.get(req.id);
        open.delete(req.id);
        if (!file) throw new Error(`no file ${req.id} is open`);
        reply({ type: 'done', id: req.id, result: file.evaluation.finish(req.facts) });
        return;
      }
      case 'abort':
        open.delete(req.id);
        return;
    }
  } catch (err) {
    open.delete(req.id);
    const e = err instanceof Error ? err : new Error(String(err));
    reply({ type: 'error', id: req.id, error: { name: e.name, message: e.message } });
  }
});
