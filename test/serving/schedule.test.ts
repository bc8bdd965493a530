import t from "tap";
import { parseDuration } from "../../common/duration.ts";
import { parseSchedule, scheduledMinScale } from "../../serving/schedule.ts";

t.test("Go durations", async (t) => {
  t.equal(parseDuration("30s"), 30_000);
  t.equal(parseDuration("1m30s"), 90_000);
  t.equal(parseDuration("1.5h"), 5_400_000);
  t.equal(parseDuration("250ms"), 250);
  t.equal(parseDuration("0"), 0);
  t.equal(parseDuration("10"), undefined, "a unit is required");
  t.equal(parseDuration("1 day"), undefined);
  t.equal(parseDuration("5x"), undefined);
  t.equal(parseDuration(""), undefined);
});

const weekdays = `
- cron: "0 8 * * 1-5"
  duration: 10h
  minScale: 3
  timezone: Europe/Berlin
- cron: "0 12 * * *"
  duration: 1h
  minScale: 5
`;

t.test("windows open on their cron schedule in their time zone, and the largest wins", async (t) => {
  const { windows, problems } = parseSchedule(weekdays);
  t.same(problems, []);
  // Wednesday 2026-11-25. Berlin is UTC+1 in November.
  t.equal(scheduledMinScale(windows, new Date("2026-11-25T06:59:00Z")), 0, "07:59 Berlin: closed");
  t.equal(
    scheduledMinScale(windows, new Date("2026-11-25T07:00:00Z")),
    3,
    "08:00 Berlin: opens exactly on time",
  );
  t.equal(scheduledMinScale(windows, new Date("2026-11-25T12:30:00Z")), 5, "the noon UTC window is larger");
  t.equal(scheduledMinScale(windows, new Date("2026-11-25T16:59:59Z")), 3, "17:59:59 Berlin: still open");
  t.equal(scheduledMinScale(windows, new Date("2026-11-25T17:00:00Z")), 0, "18:00 Berlin: closed");
  t.equal(scheduledMinScale(windows, new Date("2026-11-28T09:00:00Z")), 0, "Saturday: closed");
});

t.test("every problem is reported with its window", async (t) => {
  const { problems } = parseSchedule(`
- cron: "not a cron"
  duration: 1h
  minScale: 1
- cron: "0 8 * * *"
  duration: forever
  minScale: -1
  timezone: Mars/Olympus
  colour: blue
`);
  t.match(problems.join("\n"), /\[0\]\.cron: /);
  t.match(problems.join("\n"), /\[1\]\.duration: expected a duration/);
  t.match(problems.join("\n"), /\[1\]\.minScale: expected an integer >= 0/);
  t.match(problems.join("\n"), /\[1\]\.timezone: unknown time zone Mars\/Olympus/);
  t.match(problems.join("\n"), /\[1\]\.colour: unknown field/);
  t.match(parseSchedule("a: [").problems[0], /not valid YAML/);
  t.match(parseSchedule("cron: x").problems[0], /expected a list/);
});
