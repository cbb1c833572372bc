// Browser tests of the staff side and the reporter's follow-up page: headless Debian
// Chromium driven by playwright-core, axe-core (WCAG 2.2 AA) on every page state.
//
// Self-contained (its own server start, TOTP and axe helpers) because the shared
// e2e/lib.mjs was not on main when these were written; they can move onto it later.
//
// Run: cargo build --release && (cd e2e && node --test staff.test.mjs)
// HAVEN_BIN overrides the binary (default ../target/debug/haven, which scripts/test builds).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { takeStep, totp } from "./staff-session.mjs";
import { uploadSampleFiles } from "./uploads.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const bin = process.env.HAVEN_BIN ?? join(root, "target/debug/haven");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

let server, dataDir, base, browser, oneTimePassword;
const email = "cpa@secos.example";
const chosenPassword = "Tees-Valley-Safeguarding-2026";

function haven(args) {
  return execFileSync(bin, ["--data-dir", dataDir, ...args], { encoding: "utf8" });
}

async function waitForServer(url) {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) return;
    } catch { /* not yet listening */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("haven serve did not become ready");
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "haven-e2e-staff-"));
  oneTimePassword = haven(["admin", "create-user", "--email", email, "--role", "triage", "--team", "secos"]).trim();
  const port = 20000 + Math.floor(Math.random() * 20000);
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ["serve", "--bind", `127.0.0.1:${port}`, "--data-dir", dataDir], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, HAVEN_LOG: "warn" },
  });
  await waitForServer(base);
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_FLAGS });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs axe (WCAG 2.0–2.2 A and AA) on the page; fails listing every violation. CDP
 * evaluation is not subject to the page's CSP, so Haven's CSP stays on. */
async function assertAccessible(page, state) {
  // A click resolves once the next page's document arrives, before its stylesheet may have
  // applied: axe on an unstyled page finds the header's links too small to tap.
  await page.waitForLoadState("load");
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } }),
  );
  const problems = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  assert.deepEqual(problems, [], `axe violations on ${state}`);
}

async function submitSecos() {
  const answers = JSON.parse(readFileSync(join(root, "services/samples/secos-referral.json"), "utf8"));
  await uploadSampleFiles(base, answers);
  const r = await fetch(`${base}/api/v1/submissions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ service: "secos", stage: "referral", audience: "professional", answers }),
  });
  assert.equal(r.status, 201);
  return r.json();
}

let secret;
/** The referral triaged in the second test (its receipt code and the team's message). */
let triaged;
const teamMessage = "Thank you for your referral. We will be in touch this week.";

test("first sign-in: one-time password, new password, TOTP enrolment, recovery codes", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/staff/queue`);
  assert.match(page.url(), /\/staff\/sign-in$/);
  await assertAccessible(page, "sign-in");
  await page.fill("#email", email);
  await page.fill("#password", "not the password");
  await page.click("button:has-text('Continue')");
  assert.match(await page.textContent(".govuk-error-summary"), /Enter a correct email address and password/);
  await assertAccessible(page, "sign-in with an error");
  await page.fill("#password", oneTimePassword);
  await page.click("button:has-text('Continue')");
  assert.match(page.url(), /\/staff\/password$/);
  await assertAccessible(page, "choose a new password");
  await page.fill("#current_password", oneTimePassword);
  await page.fill("#new_password", "password1234");
  await page.fill("#confirm_password", "password1234");
  await page.click("button:has-text('Save password')");
  await assertAccessible(page, "new password refused");
  await page.fill("#current_password", oneTimePassword);
  await page.fill("#new_password", chosenPassword);
  await page.fill("#confirm_password", chosenPassword);
  await page.click("button:has-text('Save password')");
  assert.match(page.url(), /\/staff\/sign-in\/set-up$/);
  await assertAccessible(page, "TOTP enrolment");
  assert.ok(await page.isVisible("svg.haven-qr"), "the QR code is shown");
  secret = (await page.textContent("#totp-secret")).trim();
  await page.fill("#code", totp(secret));
  await page.click("button:has-text('Confirm')");
  assert.equal((await page.$$("#recovery-codes li")).length, 10);
  await assertAccessible(page, "recovery codes");
  await context.close();
});

test("sign in with TOTP, triage a referral: override the band with a reason, take a step", async () => {
  triaged = await submitSecos();
  const { reference } = triaged;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/staff/sign-in`);
  await page.fill("#email", email);
  await page.fill("#password", chosenPassword);
  await page.click("button:has-text('Continue')");
  assert.match(page.url(), /\/staff\/sign-in\/code$/);
  await assertAccessible(page, "security code");
  // The enrolment code's time step is used up: wait for the next step's code.
  const fresh = Date.now() + 30_000 - (Date.now() % 30_000);
  await new Promise((r) => setTimeout(r, fresh - Date.now() + 200));
  await page.fill("#code", totp(secret));
  await page.click("button:has-text('Continue')");
  assert.match(page.url(), /\/staff\/queue$/);
  await assertAccessible(page, "queue");
  await page.click(`a:has-text('${reference}')`);
  assert.match(page.url(), new RegExp(`/staff/cases/${reference}$`));
  await assertAccessible(page, "case summary");
  await page.goto(`${base}/staff/cases/${reference}/referral`);
  assert.ok(await page.isVisible("#third-party"), "third-party information, marked");
  await assertAccessible(page, "the referral");
  // An override without a reason is refused, then accepted with one (a page of its own).
  await page.goto(`${base}/staff/cases/${reference}/band`);
  await page.check("#band-medium");
  await page.click("button:has-text('Save band')");
  assert.match(await page.textContent(".govuk-error-summary"), /reason/);
  await assertAccessible(page, "band override refused");
  await page.check("#band-medium");
  await page.fill("#band-reason", "Indicators are historic; the CPA judges medium.");
  await page.click("button:has-text('Save band')");
  assert.equal((await page.textContent("#confirmed-band")).trim(), "Medium");
  assert.equal((await page.textContent("#suggested-band")).trim(), "High");
  // A workflow step.
  await takeStep(page, "Confirm screening", { reason: "Screening checked." });
  assert.notEqual((await page.textContent("#case-status")).trim(), "Received");
  await page.goto(`${base}/staff/cases/${reference}/messages/new`);
  await page.fill("#message-body", teamMessage);
  await page.click("button:has-text('Send message')");
  assert.match(await page.textContent("main"), /We will be in touch this week/);
  await assertAccessible(page, "case after triage");
  await context.close();
});

test("the follow-up page shows the status and the team's message, and takes more information", async () => {
  assert.ok(triaged, "the triage test ran first");
  const { reference, receipt_code } = triaged;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/follow-up`);
  await assertAccessible(page, "follow-up start");
  await page.fill("#code", "AAAAA-BBBBB-CCCCC-DDDDD");
  await page.click("button:has-text('Continue')");
  await assertAccessible(page, "follow-up wrong code");
  await page.fill("#code", receipt_code);
  await page.click("button:has-text('Continue')");
  assert.ok(!page.url().includes(receipt_code), "the code is never in the address");
  assert.match(await page.textContent("#status"), /looking at your referral/i);
  assert.match(await page.textContent("main"), /We will be in touch this week/);
  const text = await page.textContent("main");
  assert.ok(!text.includes("grey car"), "no third-party information");
  assert.ok(!text.includes(email), "no staff names");
  await assertAccessible(page, "follow-up status");
  await page.fill("#information", "He messaged again last night.");
  await page.click("button:has-text('Send')");
  assert.match(await page.textContent(".govuk-notification-banner"), /added your information/);
  await assertAccessible(page, "follow-up information added");
  assert.ok(reference.startsWith("SEC-"));
  await context.close();
});
