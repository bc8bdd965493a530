import t from "tap";
import { hostKey } from "../../router/host.ts";

t.test("route keys from Host headers", async (t) => {
  const cases: [string | undefined, string | undefined][] = [
    ["hello.default.example.com", "hello.default.example.com"],
    ["Hello.Default.Example.COM:8080", "hello.default.example.com"],
    ["hello.default.example.com.", "hello.default.example.com"],
    ["hello.default.example.com.:80", "hello.default.example.com"],
    ["hello", "hello"],
    ["127.0.0.1:8080", "127.0.0.1"],
    ["[::1]:8080", "[::1]"],
    ["[::1]", "[::1]"],
    ["a_b.example", "a_b.example"],
    [undefined, undefined],
    ["", undefined],
    ["hello world", undefined],
    ["hello:port", undefined],
    ["hello:123456", undefined],
    ["[::1", undefined],
    ["[::1]x", undefined],
    ["-leading", undefined],
    ["héllo", undefined],
    ["a/b", undefined],
  ];
  for (const [input, expected] of cases) t.equal(hostKey(input), expected, JSON.stringify(input));
});
