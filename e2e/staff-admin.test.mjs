// Browser tests of the staff accounts admin page (/staff/admin/users): headless Debian
// Chromium driven by playwright-core, axe-core (WCAG 2.2 AA) on every page state, with
// JavaScript off (the pages need none).
// checkPage (lib.mjs): axe on a script-free copy, 320 px, no outside requests, page weight.
//
// Its own server start (the accounts are made with the CLI first) and TOTP helper.
// HAVEN_BIN overrides the binary (default ../target/debug/haven, which scripts/test builds).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { launchBrowser, openPage, checkPage } from "./lib.mjs";
import { totp } from "./staff-session.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const bin = process.env.HAVEN_BIN ?? join(root, "target/debug/haven");

let server, dataDir, base, browser, oneTimePassword;
const adminEmail = "admin@haven.example";
const workerEmail = "worker@secos.example";
const chosenPassword = "Admin-Keeps-The-Keys-2026";

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
  dataDir = mkdtempSync(join(tmpdir(), "haven-e2e-admin-"));
  oneTimePassword = haven(["admin", "create-user", "--email", adminEmail, "--role", "admin"]).trim();
  haven(["admin", "create-user", "--email", workerEmail, "--role", "triage", "--team", "secos"]);
  const port = 20000 + Math.floor(Math.random() * 20000);
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ["serve", "--bind", `127.0.0.1:${port}`, "--data-dir", dataDir], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, HAVEN_LOG: "warn" },
  });
  await waitForServer(base);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The lib's checks, named for the message. */
async function assertAccessible(page, label) {
  await checkPage(page, { label });
}

test("an admin changes a role and deactivates an account, with reasons, JavaScript off", async () => {
  const { page, close } = await openPage(browser, { base }, { javaScriptEnabled: false });
  // First sign-in of the admin: one-time password, a new one, the authenticator app.
  await page.goto(`${base}/staff/sign-in`);
  await page.fill("#email", adminEmail);
  await page.fill("#password", oneTimePassword);
  await page.click("button:has-text('Continue')");
  await page.fill("#current_password", oneTimePassword);
  await page.fill("#new_password", chosenPassword);
  await page.fill("#confirm_password", chosenPassword);
  await page.click("button:has-text('Save password')");
  const secret = (await page.textContent("#totp-secret")).trim();
  await page.fill("#code", totp(secret));
  await page.click("button:has-text('Confirm')");
  await page.goto(`${base}/staff/queue`);
  await page.click(".govuk-service-navigation a:has-text('Staff accounts')");
  assert.match(page.url(), /\/staff\/admin\/users$/);
  await assertAccessible(page, "staff accounts");
  const rows = await page.textContent("main");
  assert.match(rows, /worker@secos\.example/);
  assert.match(rows, /Not set up/);

  await page.click(`a:has-text('${workerEmail}')`);
  await assertAccessible(page, "staff account");
  // No reason: the error summary names the field, and the page stays accessible.
  await page.selectOption("#role", "manager");
  await page.click("button:has-text('Change role and team')");
  assert.match(await page.textContent(".govuk-error-summary"), /Enter why you are making this change/);
  assert.match(await page.title(), /^Error:/);
  await assertAccessible(page, "role change refused");
  await page.selectOption("#role", "manager");
  await page.selectOption("#team", "secos");
  await page.fill("#role-reason", "Now leads the SECOS team");
  await page.click("button:has-text('Change role and team')");
  assert.equal((await page.textContent("#account-role")).trim(), "Manager");
  assert.match(await page.textContent("main"), /Now leads the SECOS team/);
  await assertAccessible(page, "role changed");

  await page.fill("#active-reason", "Left the organisation");
  await page.click("button:has-text('Deactivate account')");
  assert.equal((await page.textContent("#account-status")).trim(), "Deactivated");
  await assertAccessible(page, "account deactivated");
  await close();

  // Every change is in the audit log, and the chain verifies.
  const verified = haven(["audit", "verify"]);
  assert.match(verified, /^audit log intact/);
});

/** The set-up link shown once on the page after creating or resetting an account. */
async function setUpLinkOf(page) {
  return (await page.textContent("#set-up-link")).trim();
}


test("an admin creates an account and later resets its authenticator app; the person sets both up with one-time links", async () => {
  for (const javaScriptEnabled of [true, false]) {
    const suffix = javaScriptEnabled ? "js" : "nojs";
    const { page, close } = await openPage(browser, { base }, { javaScriptEnabled });
    // A fresh admin made by the first admin's CLI, signed in through a set-up link.
    const newAdmin = `admin-${suffix}@haven.example`;
    const link = haven(["admin", "create-user", "--email", newAdmin, "--role", "admin", "--name", `Admin ${suffix}`, "--set-up-link", "--reason", "e2e"]).trim();
    assert.match(link, /\/staff\/set-up\/[0-9a-z]{52}$/);
    await page.goto(link.replace(/^https?:\/\/[^/]+/, base));
    await assertAccessible(page, `set-up link, new admin (${suffix})`);
    await page.fill("#new_password", chosenPassword);
    await page.fill("#confirm_password", chosenPassword);
    await page.click("button:has-text('Continue')");
    const secret = (await page.textContent("#totp-secret")).trim();
    await page.fill("#code", totp(secret));
    await page.click("button:has-text('Confirm')");
    await page.goto(`${base}/staff/admin/users`);
    await assertAccessible(page, `staff accounts (${suffix})`);

    // Create an account in the pages.
    await page.click("a:has-text('Create a staff account')");
    await assertAccessible(page, `create account (${suffix})`);
    await page.click("button:has-text('Create account')");
    assert.match(await page.textContent(".govuk-error-summary"), /Enter their name/);
    await assertAccessible(page, `create account refused (${suffix})`);
    const email = `sam-${suffix}@secos.example`;
    await page.fill("#display_name", "Sam Taylor");
    await page.fill("#email", email);
    await page.fill("#phone", "01642 123456");
    await page.selectOption("#role", "caseworker");
    await page.selectOption("#team", "secos");
    await page.fill("#reason", "Starts on Monday");
    await page.click("button:has-text('Create account')");
    await assertAccessible(page, `account created (${suffix})`);
    const samLink = await setUpLinkOf(page);

    // Sam sets the account up in another browser context.
    const sam = await openPage(browser, { base }, { javaScriptEnabled });
    await sam.page.goto(samLink.replace(/^https?:\/\/[^/]+/, base));
    await assertAccessible(sam.page, `set-up link (${suffix})`);
    await sam.page.fill("#new_password", "Sam-Chooses-A-Long-One-2026");
    await sam.page.fill("#confirm_password", "Sam-Chooses-A-Long-One-2026");
    await sam.page.click("button:has-text('Continue')");
    const samSecret = (await sam.page.textContent("#totp-secret")).trim();
    await sam.page.fill("#code", totp(samSecret));
    await sam.page.click("button:has-text('Confirm')");
    await sam.page.goto(`${base}/staff/queue`);
    assert.match(sam.page.url(), /\/staff\/queue$/);
    await assertAccessible(sam.page, `queue as the new caseworker (${suffix})`);

    // Sam loses the phone (and has used the recovery codes): the admin resets the app.
    await page.click("a:has-text('Back to the account')");
    await assertAccessible(page, `account page (${suffix})`);
    await page.check("#what-second-factor");
    await page.fill("#reset-reason", "Lost phone; checked by calling their desk");
    await page.click("button:has-text('Reset and make a set-up link')");
    await assertAccessible(page, `second factor reset (${suffix})`);
    const resetLink = await setUpLinkOf(page);
    // Sam's session ended at once.
    await sam.page.goto(`${base}/staff/queue`);
    assert.match(sam.page.url(), /\/staff\/sign-in$/);
    await sam.page.goto(resetLink.replace(/^https?:\/\/[^/]+/, base));
    await assertAccessible(sam.page, `second factor set-up link (${suffix})`);
    await sam.page.fill("#current_password", "Sam-Chooses-A-Long-One-2026");
    await sam.page.click("button:has-text('Continue')");
    const newSecret = (await sam.page.textContent("#totp-secret")).trim();
    assert.notEqual(newSecret, samSecret);
    await sam.page.fill("#code", totp(newSecret));
    await sam.page.click("button:has-text('Confirm')");
    await sam.page.goto(`${base}/staff/queue`);
    assert.match(sam.page.url(), /\/staff\/queue$/);
    // The link works once.
    await sam.page.goto(resetLink.replace(/^https?:\/\/[^/]+/, base));
    assert.match(await sam.page.textContent("main"), /already been used/);
    await assertAccessible(sam.page, `used link (${suffix})`);
    await sam.close();
    await close();
  }
  const verified = haven(["audit", "verify"]);
  assert.match(verified, /^audit log intact/);
});
