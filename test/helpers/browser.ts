// Chromium for the status page's tests (puppeteer-core): where it is, whether to skip without it,
// a page to drive, and what must not happen on it.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import type { Test } from "tap";
import { skipUnlessTool } from "./required-tool.ts";

const BROWSERS = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/** $CHROME_PATH, /usr/bin/chromium, or the first known browser on PATH. */
function findChromium(): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const candidates = [
    process.env.CHROME_PATH,
    "/usr/bin/chromium",
    ...BROWSERS.flatMap((name) => dirs.map((dir) => join(dir, name))),
  ];
  return candidates.find((file) => {
    if (!file) return false;
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const chromium = findChromium();
/** Skips without a browser, except under CI=true, where .ci/run installs one: there it fails. */
export const skipWithoutChromium = skipUnlessTool(
  "Chromium",
  chromium !== undefined,
  "apt-get install chromium",
);

/** A headless Chromium of its own, closed at teardown. */
export async function launchChromium(t: Test): Promise<Browser> {
  if (chromium === undefined) throw new Error("no Chromium (the test should have been skipped)");
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** A 1280×900 page in a Chromium of its own. */
export async function newPage(t: Test): Promise<Page> {
  const page = await (await launchChromium(t)).newPage();
  await page.setViewport({ width: 1280, height: 900 });
  return page;
}

/** Collects what must not happen on the page: errors, failed requests, requests elsewhere. */
export function watchPage(page: Page, origin: string): { problems: string[]; foreign: string[] } {
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${(error as Error).message}`));
  page.on("requestfailed", (req) =>
    problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`),
  );
  page.on("response", (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith("data:")) foreign.push(url);
  });
  return { problems, foreign };
}
