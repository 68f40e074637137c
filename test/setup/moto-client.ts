/** Helpers for tests that talk to the moto_server started by test/setup/moto.ts. */
import { inject } from 'vitest';

export function motoEndpoint(): string {
  return inject('motoEndpoint');
}

/** Everything moto recorded as published to SNS, by topic ARN. */
export async function snsSentMessages(): Promise<Record<string, unknown[]>> {
  const res = await fetch(`${motoEndpoint()}/moto-api/data.json`);
  const data = (await res.json()) as { sns?: { Topic?: { arn: string; sent_notifications: unknown[] }[] } };
  const out: Record<string, unknown[]> = {};
  for (const t of data.sns?.Topic ?? []) out[t.arn] = t.sent_notifications;
  return out;
}
