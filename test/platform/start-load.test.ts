// A starting pod holds a start slot while its processes are busy on the CPU, and gives it up once
// a whole window shows them idle (platform/local/start-load.ts).
import t from "tap";
import { LOAD_WINDOW_MS, LOADING_SHARE, StartLoad } from "../../platform/local/start-load.ts";

const SHARE_OF_A_WINDOW = LOAD_WINDOW_MS * LOADING_SHARE;

t.test("loading until a whole window shows the processes idle, judged again every window", async (t) => {
  const load = new StartLoad(1000);
  t.equal(load.nextLookAt, 1000 + LOAD_WINDOW_MS, "the first window begins with the pod");
  t.ok(load.loading(1000 + LOAD_WINDOW_MS - 1, 0), "within the first window: loading");
  t.ok(load.loading(1000 + LOAD_WINDOW_MS, SHARE_OF_A_WINDOW), "a window at the share: loading");
  t.equal(load.nextLookAt, 1000 + 2 * LOAD_WINDOW_MS);
  t.notOk(load.loading(1000 + 2 * LOAD_WINDOW_MS, 2 * SHARE_OF_A_WINDOW - 1), "a window below it: waiting");
  t.notOk(
    load.loading(1000 + 2 * LOAD_WINDOW_MS + 50, 500),
    "within the window: still waiting, however busy",
  );
  t.ok(load.loading(1000 + 3 * LOAD_WINDOW_MS, 500), "busy again: loading again");
});

t.test("a window that ran long is judged by its share of the time it took", async (t) => {
  const load = new StartLoad(0);
  // 50 ms of CPU over 300 ms: a sixth of a core, below the share.
  t.notOk(load.loading(300, 50));
});

t.test("without CPU figures a starting pod counts as loading, and its window goes on", async (t) => {
  const load = new StartLoad(0);
  t.ok(load.loading(LOAD_WINDOW_MS, undefined), "its processes not running yet: loading");
  t.equal(load.nextLookAt, LOAD_WINDOW_MS, "no verdict taken");
  t.notOk(load.loading(LOAD_WINDOW_MS + 1, 0), "once they are, the window since the start decides");
});

t.test(
  "a figure that falls (a thread or child ended) starts a new window, keeping the verdict",
  async (t) => {
    const load = new StartLoad(0);
    t.notOk(load.loading(LOAD_WINDOW_MS, 1), "idle over the first window");
    t.notOk(load.loading(LOAD_WINDOW_MS + 10, 0.5), "the figure fell: still waiting");
    t.equal(load.nextLookAt, 2 * LOAD_WINDOW_MS + 10, "a new window from there");
    t.ok(load.loading(2 * LOAD_WINDOW_MS + 10, 0.5 + SHARE_OF_A_WINDOW), "judged on that window alone");
  },
);
