import t from "tap";
import { scanRequestHeaders } from "../../common/http/request-headers.ts";

t.test("an HTTP/2 request's :authority is the Host sent upstream", async (t) => {
  const scan = (raw: string[]) => {
    const out: string[] = [];
    scanRequestHeaders(raw, out);
    return out;
  };
  t.same(scan([":authority", "svc.example", ":path", "/", "accept", "*/*"]), [
    "accept",
    "*/*",
    "host",
    "svc.example",
  ]);
  t.same(
    scan([":authority", "svc.example", "host", "SVC.example:80", "accept", "*/*"]),
    ["host", "svc.example", "accept", "*/*"],
    "in place of the Host it also carried",
  );
  t.same(
    scan(["Host", "svc.example", "accept", "*/*"]),
    ["Host", "svc.example", "accept", "*/*"],
    "HTTP/1: Host as sent",
  );
});
