/** The Notifier port over Amazon SNS: the alerts topic, and the chat topic when one is configured. */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Notification, Notifier } from '#shared/ports.ts';

let sharedClient: SNSClient | undefined;
export function snsClient(): SNSClient {
  sharedClient ??= new SNSClient({});
  return sharedClient;
}

export interface SnsNotifierOptions {
  /** Topic AWS Chatbot is subscribed to: it receives each alert's custom notification alone. */
  chatTopicArn?: string;
}

export class SnsNotifier implements Notifier {
  private readonly client: SNSClient;
  private readonly chatTopicArn?: string;

  constructor(client: SNSClient = snsClient(), options: SnsNotifierOptions = {}) {
    this.client = client;
    if (options.chatTopicArn) this.chatTopicArn = options.chatTopicArn;
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
    // After the alerts topic: a failure here fails the publish, and the retry repeats both (at least once).
    if (this.chatTopicArn && n.chat) {
      await this.client.send(
        new PublishCommand({
          TopicArn: this.chatTopicArn,
          Message: n.chat,
          MessageAttributes: Object.fromEntries(
            Object.entries(n.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
          ),
        }),
      );
    }
  }
}
