// CloudEvents over HTTP in, binary mode out: both modes, every required attribute, and values
// that survive a header.
import t from "tap";
import { binaryHeaders } from "../../eventing/cloudevent/event.ts";
import { decodeHeaderValue, encodeHeaderValue } from "../../eventing/cloudevent/header-value.ts";
import { hasCloudEvent, parseHttpEvent } from "../../eventing/cloudevent/parse-http.ts";

const bytes = (text: string) => Buffer.from(text);
const binaryOk = { "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t" };

t.test("binary mode", async (t) => {
  const parsed = parseHttpEvent(
    { ...binaryOk, "ce-myext": "a%20b", "content-type": "text/plain" },
    bytes("hi"),
  );
  t.same(parsed, {
    event: {
      attributes: {
        specversion: "1.0",
        id: "1",
        source: "/s",
        type: "t",
        myext: "a b",
        datacontenttype: "text/plain",
      },
      data: bytes("hi"),
    },
  });
  const empty = parseHttpEvent(binaryOk, bytes(""));
  t.equal("event" in empty && empty.event.data, undefined, "no body, no data");
  t.match(parseHttpEvent({ ...binaryOk, "ce-bad_name": "x" }, bytes("")), {
    problem: /bad_name.*not a CloudEvents attribute name/,
  });
});

t.test("structured mode", async (t) => {
  const json = (value: unknown) =>
    parseHttpEvent(
      { "content-type": "application/cloudevents+json; charset=utf-8" },
      bytes(JSON.stringify(value)),
    );
  const base = { specversion: "1.0", id: "1", source: "/s", type: "t" };
  t.same(
    json({ ...base, data: { a: 1 }, count: 3, flag: true }),
    {
      event: {
        attributes: { ...base, count: "3", flag: "true", datacontenttype: "application/json" },
        data: bytes('{"a":1}'),
      },
    },
    "JSON data as JSON text; integer and boolean extensions as strings",
  );
  t.same(
    json({ ...base, datacontenttype: "text/plain", data: "hello" }),
    {
      event: { attributes: { ...base, datacontenttype: "text/plain" }, data: bytes("hello") },
    },
    "a string under a non-JSON content type is the text itself",
  );
  t.same(
    json({ ...base, data_base64: Buffer.from([0, 1, 255]).toString("base64") }),
    {
      event: { attributes: base, data: Buffer.from([0, 1, 255]) },
    },
    "data_base64 as bytes",
  );
  t.match(json({ ...base, data: 1, data_base64: "AA==" }), { problem: /both set/ });
  t.match(json([base]), { problem: /JSON object/ });
  t.match(json({ ...base, nested: { a: 1 } }), { problem: /"nested" must be a string, number or boolean/ });
  t.match(json({ ...base, Upper: "x" }), { problem: /"Upper" is not a CloudEvents attribute name/ });
  t.match(parseHttpEvent({ "content-type": "application/cloudevents-batch+json" }, bytes("[]")), {
    problem: /batched mode/,
  });
});

t.test("required attributes and their types", async (t) => {
  t.match(parseHttpEvent({ "ce-specversion": "1.0" }, bytes("")), {
    problem: "required attributes id, source, type are missing or empty",
  });
  t.match(parseHttpEvent({ ...binaryOk, "ce-type": "" }, bytes("")), {
    problem: "required attribute type is missing or empty",
  });
  t.match(parseHttpEvent({ ...binaryOk, "ce-specversion": "0.3" }, bytes("")), {
    problem: /0.3.*not supported/,
  });
  t.match(parseHttpEvent({ ...binaryOk, "ce-time": "yesterday" }, bytes("")), {
    problem: /invalid CloudEvent: .*time/,
  });
  t.match(parseHttpEvent({ "content-type": "application/json" }, bytes("{}")), {
    problem: /not a CloudEvent/,
  });
  t.equal(hasCloudEvent({ "content-type": "application/json" }), false);
  t.equal(hasCloudEvent({ "ce-specversion": "1.0" }), true);
});

t.test("header values: the HTTP binding's percent-encoding, both ways", async (t) => {
  for (const value of ["plain", "a b", 'say "hi"', "100%", "naïve ☃", "line\nbreak", "tab\there", "🙂"]) {
    const encoded = encodeHeaderValue(value);
    t.ok(/^[!#-~]*$/.test(encoded), `${JSON.stringify(value)} is header-safe: ${encoded}`);
    t.equal(decodeHeaderValue(encoded), value, `${JSON.stringify(value)} round-trips`);
  }
  t.equal(encodeHeaderValue("a b"), "a%20b");
  t.equal(decodeHeaderValue("100%"), "100%", "a stray % is kept");
  t.same(
    binaryHeaders({
      attributes: { id: "1", source: "/a b", datacontenttype: "text/plain" },
      data: undefined,
    }),
    {
      "ce-id": "1",
      "ce-source": "/a%20b",
      "content-type": "text/plain",
    },
  );
});
