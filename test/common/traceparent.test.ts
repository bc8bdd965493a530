import t from "tap";
import {
  formatTraceparent,
  isSampled,
  newSpanId,
  newTraceId,
  parseTraceparent,
  SAMPLED,
} from "../../common/traceparent.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";

t.test("a valid version-00 header is parsed", async (t) => {
  t.same(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`), { traceId: TRACE_ID, spanId: SPAN_ID, flags: 1 });
  t.same(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-00`), { traceId: TRACE_ID, spanId: SPAN_ID, flags: 0 });
});

t.test("flags: only bit 0 means sampled, other bits are kept", async (t) => {
  const flags = (hex: string) => parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-${hex}`)!.flags;
  t.equal(flags("09"), 9);
  t.equal(flags("ff"), 255);
  t.ok(isSampled(flags("01")));
  t.ok(isSampled(flags("09")));
  t.notOk(isSampled(flags("00")));
  t.notOk(isSampled(flags("02")));
  t.equal(SAMPLED, 1);
});

t.test("versions: ff is invalid, 00 takes nothing after the flags, later versions may", async (t) => {
  t.equal(parseTraceparent(`ff-${TRACE_ID}-${SPAN_ID}-01`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01-extra`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-010`), undefined);
  t.equal(parseTraceparent(`0g-${TRACE_ID}-${SPAN_ID}-01`), undefined);
  t.equal(parseTraceparent(`0-${TRACE_ID}-${SPAN_ID}-01`), undefined);
  t.same(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01`), { traceId: TRACE_ID, spanId: SPAN_ID, flags: 1 });
  t.same(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-holds`), {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    flags: 1,
  });
  // A later version still needs a dash after the flags before anything else.
  t.equal(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01x`), undefined);
});

t.test("all-zero ids are invalid", async (t) => {
  t.equal(parseTraceparent(`00-${"0".repeat(32)}-${SPAN_ID}-01`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}-${"0".repeat(16)}-01`), undefined);
});

t.test("wrong lengths are invalid", async (t) => {
  t.equal(parseTraceparent(`00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}a-${SPAN_ID}-01`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID.slice(1)}-01`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}a-01`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-1`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}${SPAN_ID}-01`), undefined);
  t.equal(parseTraceparent(""), undefined);
  t.equal(parseTraceparent(undefined), undefined);
});

t.test("uppercase hex and other characters are invalid", async (t) => {
  t.equal(parseTraceparent(`00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID.toUpperCase()}-01`), undefined);
  t.equal(parseTraceparent(`0A-${TRACE_ID}-${SPAN_ID}-01`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-0A`), undefined);
  t.equal(parseTraceparent(`00-${TRACE_ID.replace("4", "g")}-${SPAN_ID}-01`), undefined);
  t.equal(parseTraceparent(`00_${TRACE_ID}_${SPAN_ID}_01`), undefined);
  t.equal(parseTraceparent(` 00-${TRACE_ID}-${SPAN_ID}-01`), undefined);
});

t.test("two traceparent headers joined by node are invalid (a new trace starts)", async (t) => {
  const one = `00-${TRACE_ID}-${SPAN_ID}-01`;
  t.equal(parseTraceparent(`${one}, ${one}`), undefined);
});

t.test("formatting writes version 00 and two-digit flags", async (t) => {
  t.equal(
    formatTraceparent({ traceId: TRACE_ID, spanId: SPAN_ID, flags: 1 }),
    `00-${TRACE_ID}-${SPAN_ID}-01`,
  );
  t.equal(
    formatTraceparent({ traceId: TRACE_ID, spanId: SPAN_ID, flags: 0 }),
    `00-${TRACE_ID}-${SPAN_ID}-00`,
  );
  t.equal(
    formatTraceparent({ traceId: TRACE_ID, spanId: SPAN_ID, flags: 0xab }),
    `00-${TRACE_ID}-${SPAN_ID}-ab`,
  );
  // The SDK's span flags may carry bits above the byte (W3C random / remote-parent bits in OTLP).
  t.equal(
    formatTraceparent({ traceId: TRACE_ID, spanId: SPAN_ID, flags: 0x301 }),
    `00-${TRACE_ID}-${SPAN_ID}-01`,
  );
  const later = parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01-more`)!;
  t.equal(formatTraceparent(later), `00-${TRACE_ID}-${SPAN_ID}-01`);
});

t.test("parse and format round-trip", async (t) => {
  for (const flags of ["00", "01", "03", "ff"]) {
    const header = `00-${TRACE_ID}-${SPAN_ID}-${flags}`;
    t.equal(formatTraceparent(parseTraceparent(header)!), header);
  }
});

t.test("new ids are lowercase hex of the right length, distinct, valid", async (t) => {
  const traceIds = new Set<string>();
  const spanIds = new Set<string>();
  // Enough to refill the random pool many times over.
  for (let i = 0; i < 5000; i++) {
    const traceId = newTraceId();
    const spanId = newSpanId();
    if (!/^[0-9a-f]{32}$/.test(traceId) || !/^[0-9a-f]{16}$/.test(spanId)) {
      t.fail(`bad ids ${traceId} ${spanId}`);
      return;
    }
    traceIds.add(traceId);
    spanIds.add(spanId);
  }
  t.equal(traceIds.size, 5000);
  t.equal(spanIds.size, 5000);
  const header = formatTraceparent({ traceId: newTraceId(), spanId: newSpanId(), flags: SAMPLED });
  t.ok(parseTraceparent(header), header);
});
