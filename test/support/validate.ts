/** Runs the validate command in this process and keeps what it printed. */
import { runValidate, type ValidateOptions } from '#cli/commands/validate.ts';

export async function validateCaptured(options: ValidateOptions) {
  let stdout = '';
  let stderr = '';
  const code = await runValidate(options, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr, invalidLines: stderr.split('\n').filter((l) => l.includes('\tINVALID: ')) };
}
