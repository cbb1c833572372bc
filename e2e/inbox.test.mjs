// Browser test of the staff email inbox (issue 15): emailed referrals taken in with
// `haven mail ingest`, listed for the SECOS team (urgent first, "Sender not verified"), an
// item beside what its Word form said, and the completion form. Headless Debian Chromium
// driven by playwright-core, axe-core (WCAG 2.2 AA) on every page, JavaScript on and off.
// With HAVEN_SCREENSHOTS=1 it saves screenshots under docs/walkthrough/inbox/.
//
// HAVEN_BIN overrides the binary (default ../target/debug/haven, which scripts/test builds).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchBrowser, openPage, screenshot } from './lib.mjs'
import { firstSignIn, staffAxe, serveDataDir } from './staff-session.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const bin = process.env.HAVEN_BIN ?? join(root, 'target/debug/haven')
const corpus = join(root, 'crates/haven-email/tests/corpus')

let server, dataDir, base, browser
const oneTimePasswords = {}
const password = 'Inbox-Reads-Every-Email-2026'

function haven (args) {
  return execFileSync(bin, ['--data-dir', dataDir, ...args], { encoding: 'utf8' })
}


before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'haven-e2e-inbox-'))
  for (const suffix of ['js', 'nojs']) {
    oneTimePasswords[suffix] = haven(['admin', 'create-user', '--email', `triage-${suffix}@secos.example`, '--role', 'triage', '--team', 'secos']).trim()
  }
  const lines = haven(['mail', 'ingest', join(corpus, 'docx_attachment.eml'), join(corpus, 'urgent.eml'), join(corpus, 'html_script.eml')])
  assert.equal(lines.trim().split('\n').length, 3)
  ;({ server, base } = await serveDataDir(dataDir, { bin }))
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  server?.kill('SIGTERM')
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

test('the team reads its email inbox, urgent first, an item beside its Word form, JavaScript on and off', async () => {
  for (const javaScriptEnabled of [false, true]) {
    const suffix = javaScriptEnabled ? 'js' : 'nojs'
    const { page, close } = await openPage(browser, { base }, { javaScriptEnabled })
    // One account per run, each signing in for the first time.
    await firstSignIn(page, base, { email: `triage-${suffix}@secos.example`, oneTimePassword: oneTimePasswords[suffix], password })
    await page.click(".govuk-service-navigation a:has-text('Email inbox')")
    assert.match(page.url(), /\/staff\/inbox$/)
    await staffAxe(page, `inbox (${suffix})`)
    const rows = await page.$$eval('#inbox tbody tr', trs => trs.map(tr => tr.textContent))
    assert.equal(rows.length, 3)
    assert.match(rows[0], /Urgent/)
    assert.match(rows[0], /Sender not verified/)
    await screenshot(page, 'inbox', `inbox-${suffix}`)

    await page.click('#inbox tbody tr:nth-child(2) a')
    assert.match(page.url(), /\/staff\/inbox\/[0-9a-f]+$/)
    await staffAxe(page, `inbox item (${suffix})`)
    await screenshot(page, 'inbox', `item-${suffix}`)
    await page.click("a:has-text('Complete and convert into a referral')")
    await staffAxe(page, `completion form (${suffix})`)
    await screenshot(page, 'inbox', `complete-${suffix}`)
    await page.goto(`${base}/staff/inbox`)
    await page.click('#inbox tbody tr:nth-child(3) a')
    await page.click("a:has-text('Reject, or not a referral')")
    await page.click("button:has-text('Reject the email')")
    assert.match(await page.textContent('.govuk-error-summary'), /Select what this email is/)
    await staffAxe(page, `reject refused (${suffix})`)
    await close()
  }
})
