// Browser test of subject access requests (issue 17): a SECOS manager opens a request from a
// case's actions (who asked, identity check, date received), reads the request with its
// statutory clock and the preview of the export (third-party information withheld), withholds
// a note under an exemption with its reason, extends the clock, releases, and downloads the
// PDF and JSON; the team's list shows the clock. Headless Debian Chromium driven by
// playwright-core, axe-core (WCAG 2.2 AA) on every page, JavaScript on and off.
// With HAVEN_SCREENSHOTS=1 it saves screenshots under docs/walkthrough/subject-access/.
//
// HAVEN_BIN overrides the binary (default ../target/debug/haven).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchBrowser, openPage, screenshot } from './lib.mjs'
import { firstSignIn, menuItem, staffAxe, serveDataDir } from './staff-session.mjs'
import { uploadSampleFiles } from './uploads.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const bin = process.env.HAVEN_BIN ?? join(root, 'target/debug/haven')

let server, dataDir, base, browser
const oneTimePasswords = {}
const password = 'Subject-Access-Within-A-Month-2026'

function haven (args) {
  return execFileSync(bin, ['--data-dir', dataDir, ...args], { encoding: 'utf8' })
}


/** Clicks a download link; the file's suggested name and content. */
async function download (page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)])
  return { name: file.suggestedFilename(), content: readFileSync(await file.path()) }
}

async function submitReferral () {
  const answers = JSON.parse(readFileSync(join(root, 'services/samples/secos-referral.json'), 'utf8'))
  answers.young_person.name = 'Ottoline Marchbanks'
  answers.third_party.information = 'Thaddeus Quibbleworth drives the grey car'
  await uploadSampleFiles(base, answers)
  const r = await fetch(`${base}/api/v1/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: 'secos', stage: 'referral', audience: 'professional', answers })
  })
  assert.equal(r.status, 201)
  return (await r.json()).reference
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'haven-e2e-sar-'))
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

test('a manager opens, extends and releases a subject access request, JavaScript on and off', async () => {
  for (const javaScriptEnabled of [false, true]) {
    const suffix = javaScriptEnabled ? 'js' : 'nojs'
    const reference = await submitReferral()
    const { page, close } = await openPage(browser, { base }, { javaScriptEnabled })
    await firstSignIn(page, base, { email: `manager-${suffix}@secos.example`, oneTimePassword: oneTimePasswords[suffix], password })
    await page.goto(`${base}/staff/cases/${reference}`)
    await Promise.all([page.waitForNavigation(), (await menuItem(page, 'Subject access request')).click()])
    assert.match(page.url(), /\/subject-access$/)
    await staffAxe(page, `new request (${suffix})`)

    // Refused first: every field named.
    await page.click("button:has-text('Open the request')")
    assert.equal(await page.locator('.govuk-error-summary li').count(), 5)
    await staffAxe(page, `new request with errors (${suffix})`)
    await screenshot(page, 'subject-access', `new-errors-${suffix}`)

    await page.fill('#requester-name', 'Morwenna Marchbanks')
    await page.check('#relationship-2')
    await page.check('#identity-check-1')
    await page.fill('#identity-detail', 'Passport seen at the office')
    const received = new Date(Date.now() - 10 * 24 * 3600 * 1000)
    await page.fill('#received-day', String(received.getUTCDate()))
    await page.fill('#received-month', String(received.getUTCMonth() + 1))
    await page.fill('#received-year', String(received.getUTCFullYear()))
    await screenshot(page, 'subject-access', `new-${suffix}`)
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Open the request')")])
    assert.match(page.url(), /\/staff\/subject-access\/[^/]+$/)
    const requestUrl = page.url()
    await staffAxe(page, `request (${suffix})`)
    const due = await page.textContent('#due')
    assert.match(due, /days left/)
    const preview = await page.textContent('main')
    assert.match(preview, /Ottoline Marchbanks/)
    assert.doesNotMatch(preview, /Thaddeus/)
    await screenshot(page, 'subject-access', `request-${suffix}`)
    await screenshot(page, 'subject-access', `preview-${suffix}`, { scrollTo: '#preview' })

    // Withhold the first answer under an exemption.
    await page.click(`#case-${reference} tbody tr:first-child a`)
    await staffAxe(page, `item (${suffix})`)
    await page.check('#decision-withhold')
    await page.fill('#reason', 'crime prevention (DPA 2018 Sch 2 para 2)')
    await screenshot(page, 'subject-access', `item-${suffix}`)
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Save the decision')")])
    assert.ok(page.url().startsWith(requestUrl))

    // Extend by one month.
    await page.goto(`${requestUrl}/extend`)
    await staffAxe(page, `extend (${suffix})`)
    await page.check('#months-1')
    await page.fill('#reason', 'Several linked cases to review')
    await screenshot(page, 'subject-access', `extend-${suffix}`)
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Extend')")])
    assert.match(await page.textContent('#due'), /Extended by 1 month/)

    // The team's list.
    await page.click(".govuk-service-navigation a:has-text('Subject access')")
    assert.match(page.url(), /\/staff\/subject-access$/)
    await staffAxe(page, `list (${suffix})`)
    assert.match(await page.textContent('#requests'), new RegExp(reference))
    await screenshot(page, 'subject-access', `list-${suffix}`)

    // Release.
    await page.goto(`${requestUrl}/release`)
    await staffAxe(page, `release (${suffix})`)
    await screenshot(page, 'subject-access', `release-${suffix}`)
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Release')")])
    assert.match(await page.textContent('#status'), /Released on/)
    await staffAxe(page, `released (${suffix})`)
    await screenshot(page, 'subject-access', `released-${suffix}`)
    const pdf = await download(page, "#downloads a:has-text('Download the PDF')")
    assert.match(pdf.name, /\.pdf$/)
    assert.equal(pdf.content.subarray(0, 5).toString('latin1'), '%PDF-')
    const bundle = await download(page, "#downloads a:has-text('Download everything')")
    assert.match(bundle.name, /\.zip$/)
    assert.equal(bundle.content.subarray(0, 2).toString('latin1'), 'PK')
    const data = await download(page, "#downloads a:has-text('Download the data (JSON)')")
    assert.match(data.name, /\.json$/)
    const text = data.content.toString('utf8')
    assert.match(text, /Ottoline Marchbanks/)
    assert.doesNotMatch(text, /Thaddeus/)
    await close()
  }
})
