import { generateTrail } from '#shared/generator/index.ts';
import { MemoryObjectStore } from '#shared/adapters/local-store.ts';
import { readAll } from '#shared/ports.ts';
import { gunzipSync } from 'node:zlib';
const store = new MemoryObjectStore();
const t0 = Date.now();
const trail = await generateTrail({
  seed: 7, start: '2026-03-02T00:00:00Z', hours: 216, accounts: ['111122223333'], regions: ['us-east-1'],
  bucket: 'trail-bucket-test', trailName: 'mgmt', homeRegion: 'us-east-1', eventsPerMinute: 20, digests: false,
  recurringDeployBurst: true, bursts: [], securityEvents: false,
}, store);
console.log('gen ms', Date.now() - t0, 'deliveries', trail.deliveries.length);
const writes = new Map<string, number>(); const reads = new Map<string, number>(); const errs = new Map<string, number>();
let total = 0;
const t1 = Date.now();
for (const d of trail.deliveries) {
  if (d.kind !== 'log') continue;
  const recs = JSON.parse(gunzipSync(await readAll(store, d.key)).toString()).Records;
  for (const r of recs) {
    total++;
    const k = `${r.eventSource}:${r.eventName}`;
    const ro = r.readOnly;
    (ro ? reads : writes).set(k, ((ro ? reads : writes).get(k) ?? 0) + 1);
    if (r.errorCode) errs.set(k + ':' + r.errorCode, (errs.get(k + ':' + r.errorCode) ?? 0) + 1);
  }
}
console.log('read ms', Date.now() - t1, 'total', total);
const mins = 216 * 60;
console.log('WRITES'); for (const [k, v] of [...writes].sort((a, b) => b[1] - a[1])) console.log(k, v, (v / mins).toFixed(4));
console.log('READS'); for (const [k, v] of [...reads].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(k, v, (v / mins).toFixed(4));
console.log('ERRS'); for (const [k, v] of [...errs].sort((a, b) => b[1] - a[1])) console.log(k, v);
