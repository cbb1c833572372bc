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
  await page.click("a:has-text('Manage staff accounts')");
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
  assert.equal((await page.textContent("#account-role")).trim(), "manager");
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
