// Browser test of the service dashboards (issue 17): a SECOS manager and an auditor read the
// counts of a seeded database (`haven dev seed`, folded by `haven stats rebuild`): the
// summary, each chart (an SVG image that loads) with its table, the date range with an error
// naming its field, another team's service for the auditor (referrals by concern, where
// out-of-scope reporters were signposted), the print view. Headless Debian
// Chromium driven by playwright-core, axe-core (WCAG 2.2 AA) on every page, JavaScript on and
// off. With HAVEN_SCREENSHOTS=1 it saves screenshots under docs/walkthrough/dashboard/.
//
// HAVEN_BIN overrides the binary (default ../target/debug/haven, which scripts/test builds).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchBrowser, openPage, screenshot } from './lib.mjs'
import { firstSignIn, staffAxe, serveDataDir } from './staff-session.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const bin = process.env.HAVEN_BIN ?? join(root, 'target/debug/haven')

let server, dataDir, base, browser
const oneTimePasswords = {}
const password = 'Dashboards-Count-Without-Names-2026'

function haven (args) {
  return execFileSync(bin, ['--data-dir', dataDir, ...args], { encoding: 'utf8' })
}


before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'haven-e2e-dashboard-'))
  for (const suffix of ['js', 'nojs']) {
    oneTimePasswords[`manager-${suffix}`] = haven(['admin', 'create-user', '--email', `manager-${suffix}@secos.example`, '--role', 'manager', '--team', 'secos']).trim()
  }
  oneTimePasswords.auditor = haven(['admin', 'create-user', '--email', 'auditor@example.org', '--role', 'auditor']).trim()
  haven(['dev', 'seed', '--count', '600', '--days', '400', '--batch', '200'])
  haven(['stats', 'rebuild'])
  ;({ server, base } = await serveDataDir(dataDir, { bin }))
  // Two out-of-scope reports (bullying: signposted to Childline and the NSPCC), then a fold.
  const answers = JSON.parse(readFileSync(join(root, 'services/samples/ceop-report-bullying.json'), 'utf8'))
  for (let i = 0; i < 2; i++) {
    const response = await fetch(`${base}/api/v1/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'ceop', stage: 'report', audience: 'young_person', answers })
    })
    assert.equal(response.status, 200, await response.text())
  }
  haven(['stats', 'fold'])
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  server?.kill('SIGTERM')
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

/** Every chart on the page loaded as an image (an SVG the browser could draw). */
async function chartsLoaded (page) {
  // Polled from here, not with page.waitForFunction: with JavaScript off its in-page polling
  // never runs again, so a chart still loading at the first check (a loaded machine) hung it.
  const until = Date.now() + 90000
  while (!(await page.$$eval('img', imgs => imgs.every(i => i.complete)))) {
    assert.ok(Date.now() < until, 'the charts did not finish loading in 90 s')
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  const sizes = await page.$$eval('section img', imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth]))
  assert.ok(sizes.length >= 8, `charts: ${sizes.length}`)
  for (const [src, width] of sizes) assert.ok(width > 0, `chart did not load: ${src}`)
}

test('a manager reads the team dashboard, its charts and tables, a range, JavaScript on and off', async () => {
  for (const javaScriptEnabled of [false, true]) {
    const suffix = javaScriptEnabled ? 'js' : 'nojs'
    const { page, close } = await openPage(browser, { base }, { javaScriptEnabled })
    await firstSignIn(page, base, { email: `manager-${suffix}@secos.example`, oneTimePassword: oneTimePasswords[`manager-${suffix}`], password })
    await page.click(".govuk-service-navigation a:has-text('Dashboards')")
    assert.match(page.url(), /\/staff\/dashboard$/)
    await staffAxe(page, `dashboard (${suffix})`)
    await chartsLoaded(page)
    const received = await page.$eval('#dashboard-summary', el => el.textContent)
    assert.match(received, /Referrals received\s+\d+/)
    assert.equal(await page.locator('text=CEOP').count(), 0)
    await screenshot(page, 'dashboard', `summary-${suffix}`)
    await screenshot(page, 'dashboard', `over-time-${suffix}`, { scrollTo: '#section-over_time' })
    await screenshot(page, 'dashboard', `bands-${suffix}`, { scrollTo: '#section-bands' })
    await screenshot(page, 'dashboard', `workers-${suffix}`, { scrollTo: '#section-workers' })

    // A date that does not exist: the error names the field.
    await page.fill('#from-day', '31')
    await page.fill('#from-month', '2')
    await page.fill('#from-year', '2026')
    await page.click('button:has-text("Show the dashboard")')
    await page.waitForSelector('.govuk-error-summary')
    const summary = await page.$eval('.govuk-error-summary', el => el.textContent)
    assert.match(summary, /The start date must be a real date/)
    assert.equal(await page.getAttribute('.govuk-error-summary a', 'href'), '#from-day')
    await staffAxe(page, `dashboard error (${suffix})`)
    await screenshot(page, 'dashboard', `date-error-${suffix}`)

    // A shorter range groups by week.
    await page.fill('#from-day', '1')
    await page.fill('#from-month', '1')
    await page.click('button:has-text("Show the dashboard")')
    await page.waitForSelector('#dashboard-summary')
    await page.fill('#to-day', '28')
    await page.fill('#to-month', '2')
    await page.fill('#to-year', '2026')
    await page.click('button:has-text("Show the dashboard")')
    await page.waitForSelector('#heading-over_time')
    assert.match(await page.textContent('#heading-over_time'), /by week/)
    await chartsLoaded(page)
    await screenshot(page, 'dashboard', `weeks-${suffix}`, { scrollTo: '#section-over_time' })

    await page.click('a:has-text("Print view")')
    await page.waitForSelector('#dashboard-summary')
    assert.equal(await page.locator('#dashboard-range').count(), 0)
    await staffAxe(page, `dashboard print view (${suffix})`)
    await close()
  }
})

test('an auditor chooses any team\'s service', async () => {
  const { page, close } = await openPage(browser, { base }, { javaScriptEnabled: true })
  await firstSignIn(page, base, { email: 'auditor@example.org', oneTimePassword: oneTimePasswords.auditor, password })
  await page.goto(`${base}/staff/dashboard`)
  await page.selectOption('#service', 'ceop')
  await page.click('button:has-text("Show the dashboard")')
  await page.waitForSelector('#dashboard-summary')
  assert.match(await page.textContent('.govuk-caption-l'), /CEOP/)
  await staffAxe(page, 'dashboard (auditor, CEOP)')
  await chartsLoaded(page)
  await screenshot(page, 'dashboard', 'auditor-ceop')
  await screenshot(page, 'dashboard', 'auditor-out-of-scope', { scrollTo: '#section-out_of_scope' })
  // Accepted referrals by concern (the seeded reports carry theirs) and where out-of-scope
  // reporters were signposted.
  assert.match(await page.textContent('#section-concern'), /Referrals by concern/)
  assert.match(await page.textContent('#section-out_of_scope_signpost'), /Childline/)
  await screenshot(page, 'dashboard', 'auditor-concern', { scrollTo: '#section-concern' })
  await screenshot(page, 'dashboard', 'auditor-signposts', { scrollTo: '#section-out_of_scope_signpost' })
  // Concerns over time: a row per month, a column per concern counted, a stacked chart.
  assert.match(await page.textContent('#heading-concern_by_period'), /Referrals by concern, by month/)
  assert.ok(await page.locator('#table-concern_by_period thead th').count() >= 2)
  await screenshot(page, 'dashboard', 'auditor-concern-by-month', { scrollTo: '#heading-concern_by_period' })
  await close()
})
