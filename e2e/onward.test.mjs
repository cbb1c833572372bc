// Browser test of a triage officer's journey through a SECOS case (issue 6 items 4 and 7,
// issue 13): a referral submitted through the API with its files; the officer signs in
// (one-time password, new password, TOTP), opens the case from the queue on its summary
// (identity bar, sub navigation), reads the referral and its attachments, confirms the band
// and the screening, records the VEMT and police intelligence onward referrals, downloads
// both documents (PDF and Word), completes the required actions, decides and allocates,
// adds a plan goal, records a meeting, reads the chronology and closes the referral, after
// which the case is read-only. Every form is a page of its own. axe-core (WCAG 2.2 AA)
// runs on every page state, and each page again with JavaScript off at 320 px.
// HAVEN_SCREENSHOTS=1 writes docs/walkthrough/staff/*.png.
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
import { checkPage, openPage, screenshot } from './lib.mjs'
import { menuItem, takeStep, totp } from './staff-session.mjs'
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
  // As staffAxe: a click resolves before the next page's stylesheet may have applied.
  await page.waitForLoadState('load')
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

/**
 * axe on the page as it is, then the same address again with JavaScript off at 320 px wide
 * with the same session (lib.mjs's checkPage: axe, no sideways scroll, nothing from outside,
 * under 150 KB). Staff pages load no script: both must pass.
 */
async function everyWay (page, state) {
  await assertAccessible(page, state)
  if (page.url().includes('#') && !page.url().split('#')[0]) return
  const plain = await openPage(browser, { base }, { javaScriptEnabled: false, width: 320 })
  await plain.context.addCookies(await page.context().cookies())
  const response = await plain.page.goto(page.url())
  // A page shown after a refused post (422) is that post's answer: only its GET is checked.
  if (response.status() < 400) await checkPage(plain.page, { label: `${state}, JavaScript off, 320 px` })
  await plain.close()
}

/** A staff screenshot for docs/walkthrough.md (HAVEN_SCREENSHOTS=1). */
async function shot (page, step) {
  return screenshot(page, 'staff', step)
}

test('a triage officer: queue → case → band → actions → onward documents → allocation → plan → meeting → closed', async () => {
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

  // The queue, then the case: its summary first.
  await page.goto(`${base}/staff/queue`)
  await Promise.all([page.waitForNavigation(), page.click(`a:has-text('${reference}')`)])
  const caseUrl = `${base}/staff/cases/${reference}`
  assert.equal(page.url(), caseUrl)
  await everyWay(page, 'case summary')
  await shot(page, 'case-summary')
  const identity = await page.locator('#identity').innerText()
  assert.match(identity, /Zoë Ó'Brien/)
  assert.match(identity, new RegExp(reference))
  assert.match(identity, /Band: High \(suggested\)/)
  assert.match(identity, /LONE WORKING/i)
  assert.equal(await page.locator('main form').count(), 0, 'no form in a read view')
  const menu = async name => Promise.all([page.waitForNavigation(), (await menuItem(page, name)).click()])
  const tab = name => Promise.all([page.waitForNavigation(), page.locator('.moj-sub-navigation').getByRole('link', { name, exact: true }).click()])

  // Every section of the case is a page of its own.
  await tab('Referral')
  assert.ok(await page.isVisible('#third-party'), 'third-party information, marked')
  await everyWay(page, 'referral')
  await tab('Documents and attachments')
  const files = await page.locator('#attachments').innerText()
  assert.match(files, /assessment_document\.pdf[\s\S]*PDF document/)
  const fileLinks = await page.locator('#attachments a').evaluateAll(links => links.map(a => a.getAttribute('href')))
  assert.ok(fileLinks.every(href => new RegExp(`^/staff/cases/${reference}/attachments/[^/]+$`).test(href)), fileLinks.join(' '))
  await everyWay(page, 'documents and attachments')
  await shot(page, 'case-documents')
  await tab('Onward referrals')
  assert.match(await page.textContent('main'), /No onward referrals recorded yet/)
  await everyWay(page, 'onward referrals, none yet')

  // Confirm the suggested band (its own page; a reason is required), then the screening step.
  await tab('Summary')
  await menu('Confirm band')
  await everyWay(page, 'band form')
  await shot(page, 'confirm-band')
  await page.check('#band-high')
  await page.click("button:has-text('Save band')")
  assert.match(await page.textContent('.govuk-error-summary'), /reason/)
  await everyWay(page, 'band refused without a reason')
  await page.fill('#band-reason', 'Current missing episodes and unexplained gifts: high.')
  await page.click("button:has-text('Save band')")
  assert.equal(page.url(), caseUrl)
  assert.equal((await page.textContent('#confirmed-band')).trim(), 'High')
  assert.match(await page.locator('#identity').innerText(), /Band: High \(confirmed\)/)
  await menu('Confirm screening')
  await everyWay(page, 'confirm screening form')
  await page.click("main button:has-text('Confirm screening')")
  assert.equal((await page.textContent('#case-status')).trim(), 'Screening confirmed')
  await everyWay(page, 'screening confirmed')

  // The police intelligence form refuses a missing lawful basis, naming it.
  await tab('Onward referrals')
  const record = async label => Promise.all([page.waitForNavigation(), page.locator('#onward-kinds').getByRole('button', { name: label }).click()])
  await record('Record: CSE intelligence shared with the Police')
  await everyWay(page, 'police intelligence form')
  await page.click("main button:has-text('Record')")
  const summary = await page.textContent('.govuk-error-summary')
  assert.match(summary, /lawful basis/)
  assert.match(summary, /consent was sought/)
  await everyWay(page, 'onward referral refused')
  await page.check('#onward-lawful-basis')
  await page.check('#onward-consent-sought-no')
  await page.fill('#onward-consent-not-sought-reason', 'Seeking consent could alert the adult concerned.')
  await page.fill('#onward-notes', 'Grey car seen near the shopping centre on Friday evenings.')
  await page.click("main button:has-text('Record')")
  assert.match(page.url(), /\/onward-referrals#onward-/)
  await everyWay(page, 'police intelligence recorded')

  await record('Record: Referral to the VEMT panel')
  await page.check('#onward-lawful-basis')
  await page.check('#onward-consent-sought')
  await page.click("main button:has-text('Record')")
  await everyWay(page, 'VEMT referral recorded')
  await shot(page, 'onward-referrals')

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
  const handedOver = page.locator(".govuk-summary-card[id^='onward-'] >> nth=0").locator("ul[id^='exports-']")
  assert.equal(await handedOver.locator('li').count(), 2)
  const again = await download(page, ".govuk-summary-card[id^='onward-'] >> nth=0 >> ul[id^='exports-'] >> a >> nth=0")
  assert.equal(again.head.slice(0, 5), '%PDF-', again.name)
  await everyWay(page, 'files handed over')

  // The required actions: the onward referrals marked them done; Children's Services is
  // waived (already open to them), the referrer manages the risks. Each is a page.
  await tab('Screening and actions')
  assert.equal((await page.textContent('#action-status-vemt_referral')).trim(), 'Done')
  assert.equal((await page.textContent('#action-status-police_intelligence')).trim(), 'Done')
  await everyWay(page, 'screening and actions')
  await shot(page, 'screening-and-actions')
  await Promise.all([page.waitForNavigation(), page.click("a[href$='/actions/childrens_services_referral']")])
  await everyWay(page, 'required action form')
  await page.check('#action-status-waived')
  await page.click("main button:has-text('Save')")
  assert.match(await page.textContent('.govuk-error-summary'), /reason/i)
  await everyWay(page, 'waiving refused without a reason')
  await page.check('#action-status-waived')
  await page.fill('#action-reason', 'Already open to Children\'s Services: the social worker is named on the referral.')
  await page.click("main button:has-text('Save')")
  assert.match(page.url(), /\/screening#required-actions$/)
  await Promise.all([page.waitForNavigation(), page.click("a[href$='/actions/referrer_manages_risk']")])
  await page.check('#action-status-done')
  await page.click("main button:has-text('Save')")
  assert.equal((await page.textContent('#action-status-referrer_manages_risk')).trim(), 'Done')
  await everyWay(page, 'required actions complete')

  // Onward actions done → allocation decided; the case allocated to this officer.
  await takeStep(page, 'Onward actions done')
  assert.equal((await page.textContent('#case-status')).trim(), 'Onward actions done')
  await takeStep(page, 'Decide allocation', { decision: 'individual_case_work' })
  assert.equal((await page.textContent('#case-status')).trim(), 'Allocation decided')
  await menu('Choose a worker')
  await everyWay(page, 'allocation form')
  await page.selectOption('#worker', email)
  await page.click("button:has-text('Save allocation')")
  assert.equal((await page.textContent('#case-assignee')).trim(), email)
  await everyWay(page, 'allocated')

  // The plan: a goal (its own page), read on the plan page.
  await tab('Support plan')
  await everyWay(page, 'empty plan')
  await Promise.all([page.waitForNavigation(), (await menuItem(page, 'Add a goal', { exact: false })).click()])
  await everyWay(page, 'goal form')
  await page.fill('#goal-text', 'Zoë feels safe going to and from school')
  await page.click("button:has-text('Add goal')")
  assert.match(await page.textContent('#goal-list'), /feels safe going to and from school/)
  await everyWay(page, 'plan with a goal')
  await shot(page, 'plan')

  // A meeting: the lone-working concerns come first on its page.
  await tab('Meetings')
  await Promise.all([page.waitForNavigation(), page.click('#record-meeting')])
  assert.ok(await page.isVisible('#lone-working'))
  await everyWay(page, 'meeting form')
  await page.check('#kind-one_to_one')
  await page.fill('#date', '2027-01-12')
  await page.fill('#time', '10:00')
  await page.check('#place-school')
  await page.fill('#attendees', 'Zoë and her SECOS worker')
  await page.click("button:has-text('Record meeting')")
  assert.match(page.url(), /\/meetings$/, await page.textContent('main'))
  assert.match(await page.textContent('#meeting-table'), /One-to-one/i)
  await everyWay(page, 'meetings')

  // The chronology, newest first, as a timeline.
  await tab('Chronology')
  const events = await page.textContent('#chronology')
  assert.match(events, /Onward referral document downloaded \(PDF, SHA-256 [0-9a-f]{16}\)/)
  assert.match(events, /Kept copy of an onward referral document downloaded \(PDF, SHA-256 [0-9a-f]{16}\)/)
  assert.match(events, /Band set to High/)
  await everyWay(page, 'chronology')
  await shot(page, 'chronology')

  // Closing the referral: its own page, then the case is read-only.
  await takeStep(page, 'Close referral', { decision: 'withdrawn', reason: 'The family moved out of the area; handed to their new local team.' })
  assert.equal((await page.textContent('#case-status')).trim(), 'Closed')
  assert.match(await page.textContent('#closed'), /This case is closed/)
  assert.deepEqual(await page.locator('.moj-button-menu a').allInnerTexts(), ['Family copy'], 'no changes offered')
  await everyWay(page, 'closed case')
  await shot(page, 'closed-case')
  const refused = await page.goto(`${caseUrl}/notes/new`)
  assert.equal(refused.status(), 409)
  assert.match(await page.textContent('main'), /This case is closed/)
  await everyWay(page, 'a change to a closed case refused')
  await context.close()
})
