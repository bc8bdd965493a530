import t from "tap";
import { ConfigError, EnvReader } from "../../common/env.ts";

t.test("defaults apply to unset and blank variables", async (t) => {
  const env = new EnvReader("x", { B: "  " });
  t.equal(env.int("A", 7), 7);
  t.equal(env.string("B", "d"), "d");
  t.equal(env.bool("C", true), true);
  env.finish();
});

t.test("values are parsed and checked", async (t) => {
  const env = new EnvReader("x", { I: "42", N: "1.5", P: "0", B: "false", O: "h2c" });
  t.equal(env.int("I", 0, { min: 0, max: 100 }), 42);
  t.equal(env.number("N", 0), 1.5);
  t.equal(env.port("P", 80, { allowZero: true }), 0);
  t.equal(env.bool("B", true), false);
  t.equal(env.oneOf("O", ["http1", "h2c"] as const, "http1"), "h2c");
  env.finish();
});

t.test("every bad variable is reported together", async (t) => {
  const env = new EnvReader("thing", { I: "4.5", N: "abc", P: "0", B: "maybe", O: "h3" });
  env.int("I", 0);
  env.number("N", 0);
  env.port("P", 80);
  env.bool("B", false);
  env.oneOf("O", ["http1", "h2c"] as const, "http1");
  const error = t.throws(() => env.finish()) as unknown as ConfigError;
  t.ok(error instanceof ConfigError);
  t.equal(error.problems.length, 5);
  t.match(error.message, /^thing: invalid configuration/);
  t.match(error.message, /I="4\.5": expected an integer/);
  t.match(error.message, /N="abc": expected a number/);
  t.match(error.message, /P="0": expected an integer from 1 to 65535/);
  t.match(error.message, /B="maybe": expected true or false/);
  t.match(error.message, /O="h3": expected one of http1, h2c/);
});
