import { STATUS_CODES } from "node:http";
import t from "tap";
import { STATUS_TEXT } from "../../common/http/status-text.ts";

t.test("the raw path's reason phrases are node:http's, every one", async (t) => {
  t.same({ ...STATUS_TEXT }, STATUS_CODES);
});
