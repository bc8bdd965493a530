import t from "tap";
import { hostKey } from "../../router/host.ts";
import { HostKeys } from "../../router/host-keys.ts";

const HOSTS = [
  "hello.default.example.com",
  "Hello.Default.Example.COM:8080",
  "127.0.0.1:8080",
  "[::1]",
  "hello world",
  "hello:port",
  "",
];

t.test("HostKeys gives what hostKey gives, the first time and again", async (t) => {
  const keys = new HostKeys();
  for (let round = 0; round < 2; round++)
    for (const host of [...HOSTS, undefined])
      t.equal(keys.of(host), hostKey(host), `${JSON.stringify(host)}, round ${round}`);
  t.equal(keys.size, HOSTS.length, "invalid hosts remembered too (as no key); undefined never");
});

t.test("HostKeys stays within its capacity", async (t) => {
  const keys = new HostKeys(4);
  for (let i = 0; i < 50; i++) t.equal(keys.of(`h${i}.example.com`), `h${i}.example.com`);
  t.ok(keys.size <= 4, `${keys.size} remembered`);
  t.equal(keys.of("H1.example.com"), "h1.example.com", "still right after starting afresh");
});

t.test("HostKeys does not keep hosts longer than any valid one", async (t) => {
  const keys = new HostKeys();
  const long = `${"a".repeat(300)}.example.com`;
  t.equal(keys.of(long), hostKey(long));
  t.equal(keys.size, 0);
});
