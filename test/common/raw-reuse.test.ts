// When the raw pool may reuse an upstream connection after a response, and for how long: undici's
// rules (client-h1.js), so that an app sees the same reuse whichever path carried its requests.
import t from "tap";
import { NO_REUSE, reuseAfter } from "../../common/http/raw/reuse.ts";

t.test("no hint: the pool's own keep-alive timeout", async (t) => {
  t.equal(reuseAfter(200, ["content-type", "text/plain", "content-length", "2"], 4000), 4000);
  t.equal(reuseAfter(200, [], 0), 0, "0: no limit");
});

t.test("Keep-Alive: timeout=N: reused no later than N − 2 s, never past the pool's own", async (t) => {
  t.equal(reuseAfter(200, ["Keep-Alive", "timeout=5"], 4000), 3000);
  t.equal(reuseAfter(200, ["keep-alive", "max=100, timeout=3"], 4000), 1000, "anywhere in the list");
  t.equal(reuseAfter(200, ["KEEP-ALIVE", "TIMEOUT=60"], 4000), 4000, "the pool's timeout is the cap");
  t.equal(reuseAfter(200, ["keep-alive", "timeout=60"], 0), 58_000, "or the hint, when the pool has none");
  t.equal(reuseAfter(200, ["keep-alive", "timeout=2"], 4000), NO_REUSE, "N ≤ 2 s: not reused");
  t.equal(reuseAfter(200, ["keep-alive", "timeout=1"], 4000), NO_REUSE);
  t.equal(reuseAfter(200, ["keep-alive", "max=5"], 4000), 4000, "no timeout in it: no hint");
  t.equal(reuseAfter(200, ["keep-alive", "xtimeout=1"], 4000), 4000, "a token, not a suffix");
});

t.test("a 204 or 304 that announces a body is not reused (its bytes may follow it)", async (t) => {
  for (const status of [204, 304]) {
    t.equal(reuseAfter(status, ["Content-Length", "5"], 4000), NO_REUSE, `${status} with a length`);
    t.equal(reuseAfter(status, ["transfer-encoding", "chunked"], 4000), NO_REUSE, `${status} chunked`);
    t.equal(reuseAfter(status, ["content-length", "0"], 4000), 4000, `${status} with length 0`);
    t.equal(reuseAfter(status, ["etag", '"x"'], 4000), 4000, `${status} without`);
  }
  t.equal(reuseAfter(200, ["content-length", "5"], 4000), 4000, "a 200's length is its body's");
});
