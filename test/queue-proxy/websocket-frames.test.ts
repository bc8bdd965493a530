import t from "tap";
import { FrameBoundaryTracker, frameLength } from "../../queue-proxy/websocket-frames.ts";

function frame(payloadLength: number): Buffer {
  const payload = Buffer.alloc(payloadLength, 0x61);
  if (payloadLength < 126) return Buffer.concat([Buffer.from([0x81, payloadLength]), payload]);
  if (payloadLength < 65536) {
    const header = Buffer.from([0x81, 126, 0, 0]);
    header.writeUInt16BE(payloadLength, 2);
    return Buffer.concat([header, payload]);
  }
  const header = Buffer.alloc(10);
  header[0] = 0x81;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(payloadLength), 2);
  return Buffer.concat([header, payload]);
}

t.test("frameLength reads the three length encodings", async (t) => {
  t.equal(frameLength(frame(5)), 7);
  t.equal(frameLength(frame(300)), 304);
  t.equal(frameLength(frame(70_000)), 70_010);
  t.equal(frameLength(Buffer.from([0x81])), -1, "needs two bytes");
  t.equal(frameLength(Buffer.from([0x81, 126, 1])), -1, "needs the 16-bit length");
  t.equal(frameLength(Buffer.from([0x81, 0x85, 1, 2, 3, 4])), 11, "masked frames carry a 4-byte key");
});

t.test("whole frames in one chunk leave the tracker at a boundary", async (t) => {
  const tracker = new FrameBoundaryTracker();
  tracker.feed(Buffer.concat([frame(3), frame(200)]));
  t.ok(tracker.atBoundary);
});

t.test("frames split anywhere, headers included, are followed byte by byte", async (t) => {
  const stream = Buffer.concat([frame(3), frame(300), frame(0), frame(70_000)]);
  for (const size of [1, 2, 3, 7, 13, 1000]) {
    const tracker = new FrameBoundaryTracker();
    for (let offset = 0; offset < stream.length; offset += size)
      tracker.feed(stream.subarray(offset, offset + size));
    t.ok(tracker.atBoundary, `chunks of ${size} bytes end at a boundary`);
  }
  const tracker = new FrameBoundaryTracker();
  tracker.feed(stream.subarray(0, 10));
  t.notOk(tracker.atBoundary, "inside the second frame");
});

t.test("stopAtBoundary returns the end of the frame in progress", async (t) => {
  const tracker = new FrameBoundaryTracker();
  const stream = Buffer.concat([frame(10), frame(4)]);
  tracker.feed(stream.subarray(0, 5));
  t.equal(tracker.feed(stream.subarray(5), true), 7, "12-byte first frame ends 7 bytes into the chunk");
  t.ok(tracker.atBoundary);
});
