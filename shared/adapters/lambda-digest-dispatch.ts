/**
 * Hands a digest delivery from ingest to the verify function by asynchronous invocation: verify then retries
 * and fails over to its own destination independently of ingest. The notification record goes unchanged.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Delivery } from '#shared/pipeline/routing.ts';
import type { Log } from '#shared/ports.ts';

let sharedClient: LambdaClient | undefined;

export function lambdaDigestDispatch(
  verifyFunctionName: string | undefined,
  logger: Log,
): (delivery: Delivery) => Promise<void> {
  return async (delivery) => {
    if (!verifyFunctionName) {
      logger.warn('digest delivered but VERIFY_FUNCTION_NAME is not set: not verified', {
        key: delivery.key,
      });
      return;
    }
    sharedClient ??= new LambdaClient({});
    await sharedClient.send(
      new InvokeCommand({
        FunctionName: verifyFunctionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ Records: [delivery.notification] })),
      }),
    );
  };
}
