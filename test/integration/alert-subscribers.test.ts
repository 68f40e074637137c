/**
 * What subscribers of the alerts topic and of the chat topic receive, through the real SNS adapter against
 * moto_server: an SQS queue on the alerts topic gets, for every alert kind, the JSON document alone, valid
 * against schema/alert.schema.json; a queue on the chat topic gets AWS Chatbot custom notifications, valid
 * against the structure from https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html, with an
 * incident's messages in one thread.
 */
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SnsNotifier } from '#shared/adapters/sns-notifier.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';
import { documentOf, everyAlert, schemaValidator } from '#test/support/alert-samples.ts';

const validateAlert = schemaValidator('alert.schema.json');
const validateChat = schemaValidator('chatbot-custom-notification.schema.json');

interface Received {
  body: string;
  attributes: Record<string, string>;
}

let alertBodies: Received[];
let chatBodies: Received[];
const samples = everyAlert();

async function queueSubscribedTo(sns: SNSClient, sqs: SQSClient, topicArn: string, name: string) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: Attributes!.QueueArn,
      // What a consumer reads is then the body SNS chose for the sqs protocol, without SNS's envelope.
      Attributes: { RawMessageDelivery: 'true' },
    }),
  );
  return QueueUrl!;
}

async function drain(sqs: SQSClient, queueUrl: string, expected: number): Promise<Received[]> {
  const out: Received[] = [];
  for (let round = 0; round < 50 && out.length < expected; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    for (const m of Messages) {
      out.push({
        body: m.Body ?? '',
        attributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
        ),
      });
    }
  }
  return out;
}

beforeAll(async () => {
  // Prepare: an alerts topic and a chat topic, each with a queue subscribed (names unique: moto is shared)
  const suffix = `${process.pid}-${Date.now()}`;
  const sns = new SNSClient({ endpoint: motoEndpoint(), region: 'us-east-1' });
  const sqs = new SQSClient({ endpoint: motoEndpoint(), region: 'us-east-1' });
  const alerts = (await sns.send(new CreateTopicCommand({ Name: `alerts-${suffix}` }))).TopicArn!;
  const chat = (await sns.send(new CreateTopicCommand({ Name: `chat-${suffix}` }))).TopicArn!;
  const alertQueue = await queueSubscribedTo(sns, sqs, alerts, `alerts-q-${suffix}`);
  const chatQueue = await queueSubscribedTo(sns, sqs, chat, `chat-q-${suffix}`);
  const notifier = new SnsNotifier(sns, { chatTopicArn: chat });

  // Act: every kind published through the SNS adapter, as the functions publish
  for (const s of samples) await notifier.publish({ ...s.notification, topic: alerts });
  alertBodies = await drain(sqs, alertQueue, samples.length);
  chatBodies = await drain(sqs, chatQueue, samples.length);
});

describe('an SQS queue subscribed to the alerts topic', () => {
  it('receives one JSON document per alert, each valid against schema/alert.schema.json', () => {
    expect(alertBodies).toHaveLength(samples.length);
    for (const { body } of alertBodies) {
      const doc = JSON.parse(body);
      expect(validateAlert(doc), JSON.stringify(validateAlert.errors)).toBe(true);
    }
  });

  it.each(samples.map((s) => [s.name, s.notification] as const))(
    'receives the %s alert as its document alone, with its attributes',
    (_name, n) => {
      const want = documentOf(n);
      const got = alertBodies.filter((b) => {
        const d = JSON.parse(b.body);
        return d.incidentKey === want.incidentKey && d.resolves === want.resolves && d.title === want.title;
      });
      expect(got).toHaveLength(1);
      expect(JSON.parse(got[0].body)).toEqual(want);
      expect(got[0].attributes).toMatchObject({ kind: want.kind, incident: want.incidentKey });
    },
  );
});

describe('an SQS queue subscribed to the chat topic', () => {
  it('receives one AWS Chatbot custom notification per alert, each valid against the documented structure', () => {
    expect(chatBodies).toHaveLength(samples.length);
    for (const { body } of chatBodies) {
      const chat = JSON.parse(body);
      expect(validateChat(chat), JSON.stringify(validateChat.errors)).toBe(true);
    }
  });

  it('threads an insight Start with its End, a gap with its recovery, a chain break with its recovery', () => {
    // Prepare
    const threadOf = (incident: string) =>
      chatBodies
        .filter((b) => b.attributes.incident === incident)
        .map((b) => JSON.parse(b.body).metadata.threadId as string);
    const pairs = ['insight end', 'watchdog recovery', 'tamper chain recovered'].map((name) => {
      const doc = documentOf(samples.find((s) => s.name === name)!.notification);
      return doc.resolves as string;
    });

    // Assess
    for (const incident of pairs) {
      const threads = threadOf(incident);
      expect(threads.length, `messages of ${incident}`).toBe(2);
      expect(new Set(threads).size).toBe(1);
    }
  });
});
