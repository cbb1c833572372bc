// Browser test of the information-sharing register (issue 17): a SECOS manager records an
// onward referral on a case and takes its PDF, then finds it in the register (`/staff/sharing`,
// linked from the navigation): recipient, lawful basis, consent, date sent, the file handed
// over with its SHA-256; filters it, and gets a clear error naming the field for a date that
// does not exist. Headless Debian Chromium driven by playwright-core, axe-core (WCAG 2.2 AA)
// on every page, JavaScript on and off. With HAVEN_SCREENSHOTS=1 it saves screenshots under
// docs/walkthrough/sharing/.
//
// HAVEN_BIN overrides the binary (default ../target/debug/haven).
// Run: (cd e2e && node --test --test-concurrency=1 ./sharing.test.mjs)
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchBrowser, openPage, screenshot } from './lib.mjs'
import { firstSignIn, staffAxe, serveDataDir } from './staff-session.mjs'
import { uploadSampleFiles } from './uploads.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const bin = process.env.HAVEN_BIN ?? join(root, 'target/debug/haven')

let server, dataDir, base, browser
const oneTimePasswords = {}
const password = 'Sharing-Register-Tees-2026'

function haven (args) {
  return execFileSync(bin, ['--data-dir', dataDir, ...args], { encoding: 'utf8' })
}


before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'haven-e2e-sharing-'))
  for (const suffix of ['js', 'nojs']) {
    oneTimePasswords[suffix] = haven(['admin', 'create-user', '--email', `manager-${suffix}@secos.example`, '--role', 'manager', '--team', 'secos']).trim()
  }
  ;({ server, base } = await serveDataDir(dataDir, { bin }))
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  server?.kill('SIGTERM')
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

/** Clicks a download link: the file's suggested name and its text. */
async function download (page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)])
  return { name: file.suggestedFilename(), text: readFileSync(await file.path()).toString('latin1') }
}

async function submitCase () {
  const answers = JSON.parse(readFileSync(join(root, 'services/samples/secos-referral.json'), 'utf8'))
  await uploadSampleFiles(base, answers)
  const submitted = await fetch(`${base}/api/v1/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: 'secos', stage: 'referral', audience: 'professional', answers })
  })
  assert.equal(submitted.status, 201)
  return (await submitted.json()).reference
}

test('a manager reads, filters and exports the information-sharing register, JavaScript on and off', async () => {
  for (const javaScriptEnabled of [false, true]) {
    const suffix = javaScriptEnabled ? 'js' : 'nojs'
    const reference = await submitCase()
    const { page, close } = await openPage(browser, { base }, { javaScriptEnabled })
    await firstSignIn(page, base, { email: `manager-${suffix}@secos.example`, oneTimePassword: oneTimePasswords[suffix], password })

    // An onward referral to the police, consent not sought, and its PDF taken.
    await page.goto(`${base}/staff/cases/${reference}/onward-referrals/new/police_intelligence`)
    await page.check('#onward-lawful-basis')
    await page.check('#onward-consent-sought-no')
    await page.fill('#onward-consent-not-sought-reason', 'Seeking consent would prejudice a police investigation.')
    await page.click("button:has-text('Record')")
    assert.match(page.url(), /\/onward-referrals#onward-/)
    const pdf = await download(page, "a[href$='/documents/pdf']")
    assert.equal(pdf.text.slice(0, 5), '%PDF-')
    await page.reload()
    assert.match(await page.textContent("ul[id^='exports-']"), new RegExp(`${reference}-police-intelligence\\.pdf`))
    await staffAxe(page, `case onward referrals with the file handed over (${suffix})`)
    await screenshot(page, 'sharing', `case-onward-${suffix}`, { scrollTo: "ul[id^='exports-']" })

    // The register, from the navigation.
    await page.click(".govuk-service-navigation a:has-text('Sharing register')")
    assert.match(page.url(), /\/staff\/sharing$/)
    await staffAxe(page, `sharing register (${suffix})`)
    const first = await page.textContent('#sharing tbody tr:first-child')
    assert.match(first, new RegExp(reference))
    assert.match(first, /CSE intelligence shared with the Police/)
    assert.match(first, /Consent not sought: Seeking consent would prejudice a police investigation\./)
    assert.match(first, /SHA-256 [0-9a-f]{12}/)
    await screenshot(page, 'sharing', `register-${suffix}`)

    // Filtered to the police: the row stays; to consent sought: none of this run's.
    // With JavaScript the filter is folded away behind "Show filters".
    if (javaScriptEnabled) await page.click("button:has-text('Show filters')")
    await page.selectOption('#recipient_kind', 'police')
    await page.click("button:has-text('Apply filters')")
    assert.match(page.url(), /recipient_kind=police/)
    assert.match(await page.textContent('#sharing'), new RegExp(reference))
    await page.goto(`${base}/staff/sharing?consent=sought`)
    assert.ok(!(await page.content()).includes(reference))
    await staffAxe(page, `sharing register filtered to nothing (${suffix})`)

    // A date that does not exist: the error names the field and links to it.
    await page.goto(`${base}/staff/sharing`)
    if (javaScriptEnabled) await page.click("button:has-text('Show filters')")
    await page.fill('#from', '31')
    await page.fill('#from-month', '2')
    await page.fill('#from-year', '2026')
    await page.click("button:has-text('Apply filters')")
    assert.match(await page.textContent('.govuk-error-summary'), /Enter the date sent from as a real date/)
    assert.equal(await page.getAttribute('.govuk-error-summary a', 'href'), '#from')
    assert.ok(await page.isVisible('#from'), 'the filter with the error is shown, not folded away')
    await staffAxe(page, `sharing register with a bad date (${suffix})`)
    await screenshot(page, 'sharing', `register-error-${suffix}`)

    // The CSV of what is shown: an attachment.
    await page.goto(`${base}/staff/sharing`)
    const csv = await download(page, '#sharing-csv')
    assert.match(csv.name, /^sharing-register-\d{4}-\d{2}-\d{2}\.csv$/)
    assert.match(csv.text, new RegExp(reference))
    assert.match(csv.text, /^Reference,Service,/)
    await close()
  }
})
