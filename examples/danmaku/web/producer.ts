// Comments to the Kafka topic. Requests that arrive in the same turn of the event loop share one
// produce request (a busy page sends thousands a second; one round trip each would be the limit).
import { Producer } from "@platformatic/kafka";
import type { Comment } from "./comment.ts";

export class CommentProducer {
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  readonly #topic: string;
  #batch: { comment: Comment; done: (error?: Error) => void }[] = [];

  constructor(bootstrap: string[], topic: string) {
    this.#topic = topic;
    this.#producer = new Producer({
      clientId: "danmaku-web",
      bootstrapBrokers: bootstrap,
      retries: 5,
      retryDelay: 200,
    });
  }

  /** Resolves once Kafka stored the comment. */
  send(comment: Comment): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#batch.length === 0) setImmediate(() => this.#flush());
      this.#batch.push({ comment, done: (error) => (error ? reject(error) : resolve()) });
    });
  }

  close(): Promise<void> {
    return this.#producer.close();
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    const contentType = new Map([[Buffer.from("content-type"), Buffer.from("application/json")]]);
    this.#producer
      .send({
        messages: batch.map(({ comment }) => ({
          topic: this.#topic,
          key: Buffer.from(comment.viewer),
          value: Buffer.from(JSON.stringify(comment)),
          headers: contentType,
        })),
      })
      .then(
        () => {
          for (const { done } of batch) done();
        },
        (error: Error) => {
          for (const { done } of batch) done(error);
        },
      );
  }
}
