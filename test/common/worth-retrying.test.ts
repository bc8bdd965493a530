// Which failed requests the router and activator send again: anything that never reached the
// pod; an idempotent bodiless one whose connection was lost before any answer; nothing else.
import t from "tap";
import { worthRetrying } from "../../common/http/proxy-exchange.ts";

const failure = (code: string) => Object.assign(new Error(code), { code });

t.test("connect failures: any method, any body", async (t) => {
  for (const code of ["ECONNREFUSED", "EHOSTUNREACH", "UND_ERR_CONNECT_TIMEOUT"])
    t.ok(worthRetrying(failure(code), "POST", true), code);
});

t.test("a connection lost before any answer: idempotent and bodiless only", async (t) => {
  for (const code of ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]) {
    t.ok(worthRetrying(failure(code), "GET", false), `GET ${code}`);
    t.ok(worthRetrying(failure(code), "DELETE", false), `DELETE ${code}`);
    t.notOk(worthRetrying(failure(code), "POST", false), `POST ${code}: the app may have acted on it`);
    t.notOk(worthRetrying(failure(code), "PUT", true), `PUT with a body ${code}: the body is gone`);
  }
});

t.test("other failures are not retried", async (t) => {
  t.notOk(
    worthRetrying(failure("UND_ERR_HEADERS_TIMEOUT"), "GET", false),
    "a slow app is not a lost connection",
  );
  t.notOk(worthRetrying(new Error("no code"), "GET", false));
});
