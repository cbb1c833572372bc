// Browser test of casework on a Cyber Choices case: after reassessment, a caseworker records
// the informal initial meeting, arranges it in the workflow, writes the intervention plan (a
// goal and an action with an owner and due date), reviews it, starts and closes the
// intervention with an outcome. axe-core (WCAG 2.2 AA) on every page state.
//
// The case is created and moved to `reassessed` through the API with a triage token. The
// emailed link for the detailed referral form (stage `referral`) is built elsewhere; until it
// lands, the server runs with a copy of the built-in cyber-choices definition (in a
// --services-dir) whose `referral_form_received` guard is removed, so that the step can be
// taken without the form. Everything else is the built-in definition.
//
// Run: cargo build && (cd e2e && node --test --test-concurrency=1 ./casework.test.mjs)
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import { ROOT, WCAG_TAGS, launchBrowser } from './lib.mjs'

const bin = process.env.HAVEN_BIN || join(ROOT, 'target/debug/haven')
const caseworker = 'officer@cyber-choices.example'
const triage = 'triage@cyber-choices.example'
const password = 'Plain-Clothes-Officer-2026'
let dataDir, servicesDir, server, base, browser, apiToken, oneTimePassword

function haven (args) {
  return execFileSync(bin, ['--data-dir', dataDir, '--services-dir', servicesDir, ...args], {
    encoding: 'utf8', env: { ...process.env, HAVEN_SECRET_KEY: secretKey }
  })
}
const secretKey = randomBytes(32).toString('hex')

/** RFC 6238 code for a base32 secret (HMAC-SHA1, 6 digits, 30 s). */
function totp (secretBase32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of secretBase32.replace(/\s+/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g).map(b => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)))
  const mac = createHmac('sha1', key).update(counter).digest()
  const offset = mac[mac.length - 1] & 15
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

async function api (method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await response.text()
  return { status: response.status, json: text ? JSON.parse(text) : null }
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'haven-e2e-casework-'))
  servicesDir = join(dataDir, 'services')
  mkdirSync(servicesDir)
  const definition = readFileSync(join(ROOT, 'services/cyber-choices.toml'), 'utf8')
  const withoutFormGuard = definition.replace(/^.*key = "referral_form_received".*\n/m, '')
  assert.notEqual(withoutFormGuard, definition, 'the referral_form_received guard was found')
  writeFileSync(join(servicesDir, 'cyber-choices.toml'), withoutFormGuard)
  oneTimePassword = haven(['admin', 'create-user', '--email', caseworker, '--role', 'caseworker', '--team', 'cyber-choices']).trim()
  haven(['admin', 'create-user', '--email', triage, '--role', 'triage', '--team', 'cyber-choices'])
  apiToken = haven(['admin', 'create-token', '--email', triage]).trim().split(/\s+/).pop()
  const port = 20000 + Math.floor(Math.random() * 20000)
  base = `http://127.0.0.1:${port}`
  server = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, '--services-dir', servicesDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HAVEN_LOG: 'warn', HAVEN_SECRET_KEY: secretKey }
  })
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break } catch {}
    if (i > 200) throw new Error('haven serve did not become ready')
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  server?.kill('SIGTERM')
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

/**
 * Zero axe-core WCAG 2.2 AA violations on the page as it is now. (lib.mjs's checkPage also
 * checks 320px and page weight, which are the public pages' budgets, not the staff tables'.)
 */
async function checkPage (page, { label }) {
  await page.waitForLoadState('load')
  const axe = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze()
  const violations = axe.violations.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')})`)
  assert.deepEqual(violations, [], `axe violations on ${label}`)
}

/** A Cyber Choices enquiry taken through triage to `reassessed` (accepted) by API. */
async function reassessedCase () {
  const answers = JSON.parse(readFileSync(join(ROOT, 'services/samples/cyber-choices-enquiry.json'), 'utf8'))
  const submitted = await fetch(`${base}/api/v1/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: 'cyber-choices', stage: 'enquiry', audience: 'professional', answers })
  })
  assert.equal(submitted.status, 201)
  const { reference } = await submitted.json()
  for (const step of [
    { to: 'suitability_decided', decision: 'suitable' },
    { to: 'detailed_form_requested' },
    { to: 'referral_received' },
    { to: 'reassessed', decision: 'accepted', reason: 'Suitable for an intervention.' }
  ]) {
    const moved = await api('POST', `/api/v1/referrals/${reference}/transitions`, step)
    assert.equal(moved.status, 200, JSON.stringify(moved.json))
  }
  return reference
}

/** First sign-in: one-time password, a new password, an authenticator app. */
async function signIn (page) {
  await page.goto(`${base}/staff/sign-in`)
  await page.fill('#email', caseworker)
  await page.fill('#password', oneTimePassword)
  await page.click("button:has-text('Continue')")
  await page.fill('#current_password', oneTimePassword)
  await page.fill('#new_password', password)
  await page.fill('#confirm_password', password)
  await page.click("button:has-text('Save password')")
  const secret = (await page.textContent('#totp-secret')).trim()
  await page.fill('#code', totp(secret))
  await page.click("button:has-text('Confirm')")
  assert.equal((await page.$$('#recovery-codes li')).length, 10)
}

/** Takes the workflow step whose button says `label` on the case page. */
async function step (page, label, { decision, reason, outcome, narrative } = {}) {
  const form = page.locator('form', { has: page.locator(`button:has-text("${label}")`) })
  if (decision) await form.locator(`input[name=decision][value=${decision}]`).check()
  if (reason) await form.locator('textarea[name=reason]').fill(reason)
  if (outcome) await form.locator(`input[name=outcome][value=${outcome}]`).check()
  if (narrative) await form.locator('textarea[name=narrative]').fill(narrative)
  await form.locator('button').click()
}

test('Cyber Choices casework: initial meeting, plan, review, closure with an outcome', async () => {
  const reference = await reassessedCase()
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  try {
    await signIn(page)
    await page.goto(`${base}/staff/cases/${reference}`)
    assert.equal((await page.textContent('#case-status')).trim(), 'Reassessed')
    await checkPage(page, { label: 'case page, reassessed' })

    // Arranging the meeting before recording it is refused, naming what to do.
    await step(page, 'Arrange the initial meeting')
    assert.match(await page.textContent('.govuk-error-summary'), /Record the meeting/)
    await checkPage(page, { label: 'arranging refused' })

    await page.click('#record-meeting')
    assert.match(page.url(), /\/meetings\/new$/)
    await checkPage(page, { label: 'meeting form' })
    await page.click("button:has-text('Record meeting')")
    const summary = await page.textContent('.govuk-error-summary')
    for (const problem of [/kind of meeting/, /date/, /time/, /where the meeting is/, /who attended/, /plain clothes/]) {
      assert.match(summary, problem)
    }
    await checkPage(page, { label: 'meeting form with errors' })
    await page.check('#kind-initial_meeting')
    await page.fill('#date', '2027-01-12')
    await page.fill('#time', '15:30')
    await page.check('#place-school')
    await page.fill('#place_details', 'Library meeting room')
    await page.fill('#attendees', 'The young person, their head of year, two officers')
    await page.check('#informal-yes')
    await page.fill('#notes', 'Relaxed; interested in ethical hacking competitions.')
    await page.click("button:has-text('Record meeting')")
    assert.match(page.url(), new RegExp(`/staff/cases/${reference}#meetings$`))
    assert.match(await page.textContent('#meeting-table'), /Initial meeting[\s\S]*Informal, plain clothes/)
    await step(page, 'Arrange the initial meeting')
    assert.equal((await page.textContent('#case-status')).trim(), 'Initial meeting arranged')
    await checkPage(page, { label: 'case page, meeting arranged' })

    // The plan: a goal, an action with an owner and due date, a review.
    await page.click('#open-plan')
    assert.match(page.url(), /\/plan$/)
    await checkPage(page, { label: 'empty plan' })
    await page.click("button:has-text('Add goal')")
    assert.match(await page.textContent('.govuk-error-summary'), /Enter the goal/)
    await checkPage(page, { label: 'plan with an error' })
    await page.fill('#goal-text', 'Use their coding skills in a legal, positive way')
    await page.click("button:has-text('Add goal')")
    await page.fill('#action-text', 'Enrol on the regional cyber skills club')
    await page.selectOption('#action-goal', { index: 1 })
    await page.selectOption('#action-owner', caseworker)
    await page.fill('#action-due', '2027-02-01')
    await page.click("button:has-text('Add action')")
    assert.match(await page.textContent('#action-table'), /cyber skills club[\s\S]*To do/)
    await page.fill('#review-date', '2027-02-02')
    await page.fill('#review-summary', 'Attended two club sessions; engaged well.')
    await page.click("button:has-text('Record review')")
    assert.match(await page.textContent('#next-review'), /2 March 2027/)
    await page.click("button:has-text('Mark done')")
    assert.match(await page.textContent('#action-table'), /Done/)
    await checkPage(page, { label: 'plan with a goal, a done action and a review' })

    await page.click('a.govuk-back-link')
    await step(page, 'Record the intervention plan')
    assert.equal((await page.textContent('#case-status')).trim(), 'Intervention planned')
    await step(page, 'Start the intervention')
    assert.equal((await page.textContent('#case-status')).trim(), 'In intervention')
    await checkPage(page, { label: 'case page, in intervention' })

    // Closing after the work needs an outcome from the service's list and a summary.
    await step(page, 'Close case', { decision: 'intervention_completed', reason: 'All sessions done.' })
    assert.match(await page.textContent('.govuk-error-summary'), /outcome/)
    await checkPage(page, { label: 'closing refused without an outcome' })
    await step(page, 'Close case', {
      decision: 'intervention_completed',
      reason: 'All sessions done.',
      outcome: 'diverted',
      narrative: 'Now a regular at the cyber skills club; no further concerns.'
    })
    assert.equal((await page.textContent('#case-status')).trim(), 'Closed')
    assert.match(await page.textContent('#closure'), /Diverted[\s\S]*cyber skills club/)
    assert.match(await page.textContent('#chronology ~ table'), /Closed with the outcome: Diverted/)
    await checkPage(page, { label: 'closed case' })
  } finally {
    await context.close()
  }

  const plan = await api('GET', `/api/v1/referrals/${reference}/plan`)
  assert.equal(plan.status, 200)
  assert.equal(plan.json.closure.outcome, 'diverted')
  assert.equal(plan.json.goals.length, 1)
  assert.equal(plan.json.actions[0].done, true)
})
