/** The Notifier port over Amazon SNS. */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Notification, Notifier } from '#shared/ports.ts';

let sharedClient: SNSClient | undefined;
export function snsClient(): SNSClient {
  sharedClient ??= new SNSClient({});
  return sharedClient;
}

export class SnsNotifier implements Notifier {
  private readonly client: SNSClient;

  constructor(client: SNSClient = snsClient()) {
    this.client = client;
  }

  async publish(n: Notification): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: n.topic,
        Subject: n.subject,
        Message: n.message,
        ...(n.messageStructure ? { MessageStructure: n.messageStructure } : {}),
        MessageAttributes: Object.fromEntries(
          Object.entries(n.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
        ),
      }),
    );
  }
}
