// The Kafka test broker (test/helpers/kafka.ts) starts and speaks Kafka: an ApiVersions request
// over a plain socket, with no client library (KafkaSource will bring one), gets a real answer.
import { connect } from "node:net";
import t from "tap";
import { skipUnlessKafka, startKafka } from "../helpers/kafka.ts";

/** ApiVersions v0 (api key 18): size, api key, version, correlation id, client id. */
function apiVersionsRequest(correlationId: number): Buffer {
  const clientId = Buffer.from("sluice-test");
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function ask(port: number, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let got = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
        socket.end();
        resolve(got.subarray(4, 4 + got.readInt32BE(0)));
      }
    });
    socket.once("error", reject);
  });
}

t.test("a KRaft broker on loopback answers ApiVersions", { skip: skipUnlessKafka() }, async (t) => {
  const kafka = await startKafka(t);
  const response = await ask(kafka.port, apiVersionsRequest(7));
  t.equal(response.readInt32BE(0), 7, "correlation id echoed");
  t.equal(response.readInt16BE(4), 0, "no error");
  const count = response.readInt32BE(6);
  const keys = Array.from({ length: count }, (_, i) => response.readInt16BE(10 + i * 6));
  t.ok(keys.includes(0) && keys.includes(1), "Produce (0) and Fetch (1) offered");
  t.comment(`Kafka at ${kafka.bootstrap}: ${count} APIs`);
});
