// Browser test of onward referrals (issue 6 items 4 and 7): a SECOS referral submitted
// through the API; a triage officer signs in (one-time password, new password, TOTP),
// confirms the screening, records the VEMT and police intelligence onward referrals,
// downloads both documents (PDF and Word), finishes the onward actions and allocates the
// case. axe-core (WCAG 2.2 AA) runs on every page state.
//
// Self-contained like staff.test.mjs (its own server start, TOTP and axe helpers).
// Run: cargo build && (cd e2e && node --test --test-concurrency=1 ./onward.test.mjs)
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { chromium } from 'playwright-core'
import { totp } from './staff-session.mjs'
import { uploadSampleFiles } from './uploads.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const bin = process.env.HAVEN_BIN ?? join(root, 'target/debug/haven')
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

let server, dataDir, base, browser, oneTimePassword
const email = 'triage@secos.example'
const chosenPassword = 'Onward-Referrals-Tees-2026'

function haven (args) {
  return execFileSync(bin, ['--data-dir', dataDir, ...args], { encoding: 'utf8' })
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'haven-e2e-onward-'))
  oneTimePassword = haven(['admin', 'create-user', '--email', email, '--role', 'triage', '--team', 'secos']).trim()
  const port = 20000 + Math.floor(Math.random() * 20000)
  base = `http://127.0.0.1:${port}`
  server = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HAVEN_LOG: 'warn' }
  })
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break
    } catch { /* not yet listening */ }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS })
})

after(async () => {
  await browser?.close()
  server?.kill('SIGTERM')
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

async function assertAccessible (page, state) {
  await page.evaluate(axeSource)
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
  )
  const problems = result.violations.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)
  assert.deepEqual(problems, [], `axe violations on ${state}`)
}

/** Clicks a download link and returns the file's first bytes and suggested name. */
async function download (page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)])
  const path = await file.path()
  return { name: file.suggestedFilename(), head: readFileSync(path).subarray(0, 5).toString('latin1') }
}

test('SECOS referral → VEMT and police intelligence documents → allocation', async () => {
  const answers = JSON.parse(readFileSync(join(root, 'services/samples/secos-referral.json'), 'utf8'))
  answers.young_person.name = "Zoë Ó'Brien"
  await uploadSampleFiles(base, answers)
  const submitted = await fetch(`${base}/api/v1/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: 'secos', stage: 'referral', audience: 'professional', answers })
  })
  assert.equal(submitted.status, 201)
  const { reference } = await submitted.json()

  const context = await browser.newContext({ acceptDownloads: true })
  const page = await context.newPage()
  // First sign-in: one-time password, a new password, an authenticator app.
  await page.goto(`${base}/staff/sign-in`)
  await assertAccessible(page, 'sign-in')
  await page.fill('#email', email)
  await page.fill('#password', oneTimePassword)
  await page.click("button:has-text('Continue')")
  await assertAccessible(page, 'choose a new password')
  await page.fill('#current_password', oneTimePassword)
  await page.fill('#new_password', chosenPassword)
  await page.fill('#confirm_password', chosenPassword)
  await page.click("button:has-text('Save password')")
  await assertAccessible(page, 'TOTP enrolment')
  const secret = (await page.textContent('#totp-secret')).trim()
  await page.fill('#code', totp(secret))
  await page.click("button:has-text('Confirm')")
  await assertAccessible(page, 'recovery codes')

  await page.goto(`${base}/staff/cases/${reference}`)
  await assertAccessible(page, 'case file')
  assert.match(await page.textContent('#onward-referrals ~ p'), /No onward referrals recorded yet/)

  // Confirm the suggested band, then the screening step.
  await page.check('#band-high')
  await page.fill('#band-reason', 'Current missing episodes and unexplained gifts: high.')
  await page.click("button:has-text('Save band')")
  await assertAccessible(page, 'band confirmed')
  await page.click("form:has(input[name=to][value=screening_confirmed]) button")
  assert.equal((await page.textContent('#case-status')).trim(), 'Screening confirmed')
  await assertAccessible(page, 'screening confirmed')

  // The police intelligence form refuses a missing lawful basis, naming it.
  const police = "form:has(input[name=kind][value=police_intelligence])"
  await page.click(`${police} button`)
  const summary = await page.textContent('.govuk-error-summary')
  assert.match(summary, /lawful basis/)
  assert.match(summary, /consent was sought/)
  await assertAccessible(page, 'onward referral refused')

  await page.check('#onward-police_intelligence-lawful-basis')
  await page.check('#onward-police_intelligence-consent-sought-no')
  await page.fill('#onward-police_intelligence-consent-not-sought-reason', 'Seeking consent could alert the adult concerned.')
  await page.fill('#onward-police_intelligence-notes', 'Grey car seen near the shopping centre on Friday evenings.')
  await page.click(`${police} button`)
  await assertAccessible(page, 'police intelligence recorded')

  const vemt = "form:has(input[name=kind][value=vemt_referral])"
  await page.check('#onward-vemt_referral-lawful-basis')
  await page.check('#onward-vemt_referral-consent-sought')
  await page.click(`${vemt} button`)
  await assertAccessible(page, 'VEMT referral recorded')
  assert.equal((await page.textContent('#action-status-vemt_referral')).trim(), 'Done')
  assert.equal((await page.textContent('#action-status-police_intelligence')).trim(), 'Done')

  // Download both documents, each as PDF and Word.
  const cards = page.locator(".govuk-summary-card[id^='onward-']")
  assert.equal(await cards.count(), 2)
  for (let i = 0; i < 2; i++) {
    const card = `.govuk-summary-card[id^='onward-'] >> nth=${i}`
    const pdf = await download(page, `${card} >> a[href$='/documents/pdf']`)
    assert.equal(pdf.head.slice(0, 5), '%PDF-', pdf.name)
    assert.match(pdf.name, new RegExp(`^${reference}-.*\\.pdf$`))
    const docx = await download(page, `${card} >> a[href$='/documents/docx']`)
    assert.equal(docx.head.slice(0, 2), 'PK', docx.name)
  }
  // Each file handed over is listed on its card and can be taken again as it went out.
  await page.reload()
  const handedOver = page.locator(".govuk-summary-card[id^='onward-'] >> nth=0").locator("table[id^='exports-']")
  assert.equal(await handedOver.locator('tbody tr').count(), 2)
  const again = await download(page, ".govuk-summary-card[id^='onward-'] >> nth=0 >> table[id^='exports-'] >> a >> nth=0")
  assert.equal(again.head.slice(0, 5), '%PDF-', again.name)
  await assertAccessible(page, 'files handed over')

  // The other required actions: Children's Services waived (already open to them), the
  // referrer manages the risks.
  const childrens = page.locator("details:has(form[action$='/actions/childrens_services_referral'])")
  await childrens.locator('summary').click()
  await childrens.locator("input[value='waived']").check()
  await childrens.locator('textarea').fill('Already open to Children\'s Services: the social worker is named on the referral.')
  await childrens.locator('button').click()
  const referrer = page.locator("details:has(form[action$='/actions/referrer_manages_risk'])")
  await referrer.locator('summary').click()
  await referrer.locator("input[value='done']").check()
  await referrer.locator('button').click()
  await assertAccessible(page, 'required actions complete')

  // Onward actions done → allocation decided → allocated.
  await page.click("form:has(input[name=to][value=onward_actions_done]) button")
  assert.equal((await page.textContent('#case-status')).trim(), 'Onward actions done')
  const decide = page.locator('form:has(input[name=to][value=allocation_decided])')
  await decide.locator("input[value='individual_case_work']").check()
  await decide.locator('button').click()
  await assertAccessible(page, 'allocation decided')
  await page.selectOption('#worker', email)
  await page.click("button:has-text('Save allocation')")
  await page.click("form:has(input[name=to][value=allocated]) button")
  assert.equal((await page.textContent('#case-status')).trim(), 'Allocated to a worker')
  assert.equal((await page.textContent('#case-assignee')).trim(), email)
  await assertAccessible(page, 'allocated')
  const chronology = await page.textContent('#chronology ~ table')
  assert.match(chronology, /Onward referral document downloaded \(pdf, SHA-256 [0-9a-f]{16}\)/)
  assert.match(chronology, /Kept copy of an onward referral document downloaded \(pdf, SHA-256 [0-9a-f]{16}\)/)
  await context.close()
})
