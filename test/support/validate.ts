/** Runs the validate command in this process and keeps what it printed; puts generated trails into S3. */
import type { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { runValidate, type ValidateOptions } from '#cli/commands/validate.ts';
import type { ObjectStore } from '#shared/ports.ts';

export async function validateCaptured(options: ValidateOptions) {
  let stdout = '';
  let stderr = '';
  const code = await runValidate(options, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr, invalidLines: stderr.split('\n').filter((l) => l.includes('\tINVALID: ')) };
}

/**
 * Copies a generated trail's CloudTrail files (what sits under `AWSLogs/`, after any prefix) into a
 * bucket, each digest with its signature as S3 user metadata, as CloudTrail writes them.
 */
export async function uploadTrail(from: MemoryObjectStore, to: ObjectStore): Promise<number> {
  const keys = [...from.objects.keys()].filter((k) => /^(?:.*\/)?AWSLogs\//.test(k));
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(
      keys.slice(i, i + 16).map((k) => {
        const o = from.objects.get(k)!;
        return to.put(k, o.body, o.metadata ? { metadata: o.metadata } : {});
      }),
    );
  }
  return keys.length;
}
