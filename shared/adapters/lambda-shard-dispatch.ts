/**
 * Starts a shard of a scheduled function by invoking the function itself asynchronously with the shard in the
 * event: each shard then gets Lambda's own retries and timeout, and they run side by side.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { ShardSpec } from '#shared/pipeline/shards.ts';

let sharedClient: LambdaClient | undefined;

/** The event a shard invocation carries. */
export interface ShardEvent {
  trailwatchShard: ShardSpec;
}

export function lambdaShardStarter(functionName: string): (spec: ShardSpec) => Promise<void> {
  return async (spec) => {
    sharedClient ??= new LambdaClient({});
    const event: ShardEvent = { trailwatchShard: spec };
    await sharedClient.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(event)),
      }),
    );
  };
}
