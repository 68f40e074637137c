/**
 * A lookup worker thread: gets a log file's bytes (transferred, not copied) and the filter, answers with the
 * matching records (or their output lines) and the scan's counts, or with the reason the file cannot be read.
 */
import { parentPort } from 'node:worker_threads';
import { matchFile, transferablesOf } from './match-file.ts';
import type { ReadReply, ReadRequest } from './read-pool.ts';

const port = parentPort;
if (!port) throw new Error('read-worker.ts runs as a worker thread of trailwatch lookup');

port.on('message', async (req: ReadRequest) => {
  let reply: ReadReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const { matches, lines, scan } = await matchFile(new Uint8Array(req.bytes), req.filter, req.options);
    reply = { id: req.id, matches, scan, ...(lines ? { lines } : {}) };
    if (lines) transfer = transferablesOf(lines);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { id: req.id, error: { name: e.name, message: e.message } };
  }
  port.postMessage(reply, transfer);
});
