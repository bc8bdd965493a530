// Trigger filters against Knative Eventing's semantics (pkg/eventfilter/attributes and
// pkg/eventfilter/subscriptionsapi and their tests): pass, fail or no filter, and a Trigger
// delivers whatever does not fail.
import t from "tap";
import {
  allFilter,
  and,
  anyFilter,
  attributesFilter,
  dialectFilter,
  type EventFilter,
  exactFilter,
  lookupAttribute,
  notFilter,
  or,
  prefixFilter,
  suffixFilter,
  triggerFilter,
} from "../../eventing/dispatcher/filter.ts";

const event = {
  specversion: "1.0",
  id: "1234",
  type: "com.example.someevent",
  source: "/mycontext",
  datacontenttype: "application/json; charset=utf-8",
  myextension: "my-extension-value",
};
const pass: EventFilter = () => "pass";
const fail: EventFilter = () => "fail";
const none: EventFilter = () => "none";

t.test("attribute lookup: standard attributes always exist, extensions only when set", async (t) => {
  t.equal(lookupAttribute(event, "type"), "com.example.someevent");
  t.equal(lookupAttribute(event, "subject"), "", "an unset standard attribute reads as empty");
  t.equal(lookupAttribute(event, "datamediatype"), "application/json", "the content type without parameters");
  t.equal(lookupAttribute(event, "schemaurl"), "", "schemaurl is dataschema");
  t.equal(lookupAttribute(event, "myextension"), "my-extension-value");
  t.equal(lookupAttribute(event, "otherextension"), undefined);
});

t.test("filter.attributes (Knative's attributes filter table)", async (t) => {
  t.equal(attributesFilter({ type: "some-other-type", source: "" })(event), "fail", "wrong type");
  t.equal(attributesFilter({ type: "", source: "some-other-source" })(event), "fail", "wrong source");
  t.equal(attributesFilter({ type: "", source: "" })(event), "pass", "empty values: any value");
  t.equal(attributesFilter({ type: event.type, source: event.source })(event), "pass", "specific");
  t.equal(
    attributesFilter({ type: event.type, myextension: "my-extension-value" })(event),
    "pass",
    "extension",
  );
  t.equal(attributesFilter({ myextension: "other" })(event), "fail", "wrong extension value");
  t.equal(
    attributesFilter({ otherextension: "" })(event),
    "fail",
    "a missing extension fails even with 'any'",
  );
  t.equal(attributesFilter({ subject: "" })(event), "fail", "'any' needs the attribute set, not just known");
  t.equal(attributesFilter({})(event), "pass", "no attributes: everything passes");
});

t.test("exact, prefix, suffix", async (t) => {
  t.equal(exactFilter({ type: "com.example.someevent" })(event), "pass");
  t.equal(exactFilter({ type: "com.example" })(event), "fail");
  t.equal(exactFilter({ nope: "x" })(event), "fail", "a missing attribute fails");
  t.equal(exactFilter({ type: "" })(event), "none", "an empty value is no filter");
  t.equal(prefixFilter({ type: "com.example." })(event), "pass");
  t.equal(prefixFilter({ type: "org." })(event), "fail");
  t.equal(prefixFilter({ nope: "x" })(event), "fail");
  t.equal(prefixFilter({ "": "x" })(event), "none");
  t.equal(suffixFilter({ source: "context" })(event), "pass");
  t.equal(suffixFilter({ source: "other" })(event), "fail");
  t.equal(suffixFilter({ myextension: "-value" })(event), "pass", "extensions too");
  t.equal(suffixFilter({ type: "" })(event), "none");
});

t.test("and / or: no filter leaves the other result", async (t) => {
  t.equal(and("none", "fail"), "fail");
  t.equal(and("pass", "none"), "pass");
  t.equal(and("pass", "fail"), "fail");
  t.equal(and("none", "none"), "none");
  t.equal(or("none", "fail"), "fail");
  t.equal(or("fail", "pass"), "pass");
  t.equal(or("fail", "fail"), "fail");
  t.equal(or("none", "none"), "none");
});

t.test("all, any, not", async (t) => {
  t.equal(allFilter([pass, pass])(event), "pass");
  t.equal(allFilter([pass, fail])(event), "fail");
  t.equal(allFilter([none, pass])(event), "pass");
  t.equal(allFilter([none, none])(event), "none");
  t.equal(allFilter([])(event), "none");
  t.equal(anyFilter([fail, pass])(event), "pass");
  t.equal(anyFilter([fail, fail])(event), "fail");
  t.equal(anyFilter([none, fail])(event), "fail");
  t.equal(anyFilter([])(event), "none");
  t.equal(notFilter(pass)(event), "fail");
  t.equal(notFilter(fail)(event), "pass");
  t.equal(notFilter(none)(event), "none");
  let calls = 0;
  const counting: EventFilter = () => {
    calls++;
    return "pass";
  };
  anyFilter([pass, counting])(event);
  allFilter([fail, counting])(event);
  t.equal(calls, 0, "both stop at the first decisive result");
});

t.test("the dialect, nested", async (t) => {
  const filter = dialectFilter({
    any: [
      { exact: { type: "other" } },
      { all: [{ prefix: { type: "com.example" } }, { not: { suffix: { source: "/elsewhere" } } }] },
    ],
  });
  t.equal(filter(event), "pass");
  t.equal(filter({ ...event, source: "/elsewhere" }), "fail");
  t.equal(dialectFilter({})(event), "none", "a filter with no operator is no filter");
});

t.test("a trigger's filter: filters over filter, and only a fail stops delivery", async (t) => {
  t.equal(triggerFilter(undefined, undefined)(event), true, "no filter: everything");
  t.equal(triggerFilter({ attributes: { type: "other" } }, undefined)(event), false);
  t.equal(
    triggerFilter({ attributes: { type: "other" } }, [{ exact: { type: "com.example.someevent" } }])(event),
    true,
    "filters set: filter.attributes is ignored",
  );
  t.equal(triggerFilter(undefined, [{ exact: { type: "other" } }])(event), false);
  t.equal(
    triggerFilter(undefined, [{ prefix: { type: "com." } }, { suffix: { type: "event" } }])(event),
    true,
    "filters are ANDed",
  );
  t.equal(triggerFilter(undefined, [{ exact: { type: "" } }])(event), true, "no filter delivers");
});
