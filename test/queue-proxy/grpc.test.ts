import * as grpc from "@grpc/grpc-js";
import t from "tap";
import { echoService } from "../fixtures/grpc-app.ts";
import { startProcess } from "../helpers/processes.ts";
import { startQueueProxy } from "../helpers/queue-proxy.ts";

const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");

t.test("gRPC (h2c) works through the queue-proxy, trailers and streams included", async (t) => {
  const app = await startProcess(t, "test/fixtures/grpc-app.ts", { PORT: "0", GRPC_APP_MAIN: "1" });
  const qp = await startQueueProxy(t, app.message.port as number, { USER_PROTOCOL: "h2c" });
  const client = new EchoClient(new URL(qp.url).host, grpc.credentials.createInsecure()) as grpc.Client &
    Record<string, (...args: unknown[]) => unknown>;
  t.teardown(() => client.close());

  const reply = await new Promise((resolve, reject) =>
    client.say({ text: "hi" }, (error: Error | null, value: unknown) =>
      error ? reject(error) : resolve(value),
    ),
  );
  t.same(reply, { text: "echo: hi" });

  const failure = await new Promise<grpc.ServiceError>((resolve) =>
    client.say({ text: "fail" }, (error: grpc.ServiceError) => resolve(error)),
  );
  t.equal(failure.code, grpc.status.FAILED_PRECONDITION, "grpc-status travels in the trailers");
  t.equal(failure.details, "asked to fail");

  const numbers: number[] = [];
  const stream = client.count({ to: 5 }) as grpc.ClientReadableStream<{ n: number }>;
  for await (const message of stream) numbers.push(message.n);
  t.same(numbers, [1, 2, 3, 4, 5], "server streaming");
  await qp.settled();
});
