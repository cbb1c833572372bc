// Browser test of the whole Cyber Choices journey on the built-in definition, with no
// shortcut: a teacher's anonymised enquiry through the public form (JavaScript off); a
// triager marks it suitable, which by itself emails a single-use link; the teacher opens the
// link from the outbox and sends the detailed referral on the same case; the triager
// reassesses and allocates it to a caseworker; the caseworker reads the lone-working
// concerns, records the informal initial meeting, arranges it, writes the intervention plan
// (a goal, an action with an owner and due date, which then moves, a review), starts and closes the
// intervention with an outcome, and the referrer's follow-up page says it is closed.
// axe-core (WCAG 2.2 AA) on every page state.
//
// Run: cargo build && (cd e2e && node --test --test-concurrency=1 ./casework.test.mjs)
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { checkPage, launchBrowser, openPage, startHaven } from './lib.mjs'
import { sample } from './forms.mjs'
import { continuePages, errorSummary, invitationPath, sendAndConfirm, toCheckAnswers } from './journey.mjs'
import { chronology, firstSignIn, menuItem, staffAxe, takeStep } from './staff-session.mjs'

const triager = { email: 'triage@cyber-choices.example', password: 'Thames-Valley-Triage-2026' }
const caseworker = { email: 'officer@cyber-choices.example', password: 'Plain-Clothes-Officer-2026' }
let haven, browser

function createUser ({ email }, role) {
  return execFileSync(haven.binary, ['--data-dir', haven.dataDir, 'admin', 'create-user',
    '--email', email, '--role', role, '--team', 'cyber-choices'], { encoding: 'utf8' }).trim()
}

before(async () => {
  haven = await startHaven()
  browser = await launchBrowser()
  triager.oneTimePassword = createUser(triager, 'triage')
  caseworker.oneTimePassword = createUser(caseworker, 'caseworker')
})
after(async () => { await browser?.close(); await haven?.stop() })

async function status (page) {
  return (await page.textContent('#case-status')).trim()
}

test('Cyber Choices: enquiry → suitable → detailed form → initial meeting → plan → closure', async () => {
  // 1. The teacher's anonymised enquiry, without JavaScript.
  const referrer = await openPage(browser, haven, { javaScriptEnabled: false })
  await toCheckAnswers(referrer.page, haven, {
    service: 'cyber-choices',
    audience: 'professional',
    answers: await sample('cyber-choices-enquiry.json')
  })
  const { reference, receipt } = await sendAndConfirm(referrer.page)
  assert.match(reference, /^CYB-/)

  // 2. The triager marks it suitable: one click, and the link goes out.
  const triage = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const triagePage = await triage.newPage()
  await firstSignIn(triagePage, haven.base, triager)
  await staffAxe(triagePage, 'queue')
  await triagePage.goto(haven.url(`/staff/cases/${reference}`))
  assert.equal(await status(triagePage), 'Enquiry received')
  await staffAxe(triagePage, 'case summary, enquiry')
  // The step is a page of its own, which says what it sends.
  await Promise.all([triagePage.waitForNavigation(), (await menuItem(triagePage, 'Record suitability decision', { exact: false })).click()])
  assert.match(await triagePage.locator('main form').innerText(), /Suitable for a referral: this also emails the referrer a single-use link/)
  await staffAxe(triagePage, 'suitability decision form')
  await takeStep(triagePage, 'Record suitability decision', { decision: 'suitable' })
  assert.equal(await status(triagePage), 'Detailed referral form requested', await errorSummary(triagePage))
  await staffAxe(triagePage, 'case file, detailed form requested')

  // 3. The teacher follows the emailed link and sends the detailed referral.
  const link = await invitationPath(haven, 'cyber-choices')
  const page = referrer.page
  await page.goto(haven.url(link))
  await checkPage(page, { label: 'invitation start page' })
  await Promise.all([page.waitForNavigation(), page.click("button:has-text('Start the form')")])
  assert.match(page.url(), /\/services\/cyber-choices\/referral\/pages\//)
  await checkPage(page, { label: 'detailed form, first page' })
  await continuePages(page, { answers: await sample('cyber-choices-referral.json') })
  await Promise.all([page.waitForNavigation(), page.locator('button[name=action][value=submit]').click()])
  assert.match(page.url(), /\/referral\/confirmation$/, await errorSummary(page))
  await checkPage(page, { label: 'detailed form sent' })
  assert.equal((await page.locator('.govuk-panel__body strong').innerText()).trim(), reference)

  // 4. The queue marks the case as holding new information from the referrer; the triager
  // opens it, reassesses it and allocates it to the caseworker.
  await triagePage.goto(haven.url('/staff/queue'))
  const row = triagePage.locator('#queue tbody tr', { hasText: reference })
  assert.match(await row.innerText(), /New information/i, "the MOJ badge (shown in capitals)")
  await staffAxe(triagePage, 'queue with new information')
  await triagePage.goto(haven.url(`/staff/cases/${reference}`))
  assert.equal(await status(triagePage), 'Detailed referral received')
  assert.match(await triagePage.locator('#identity').innerText(), /Ethan Reid/)
  await triagePage.goto(haven.url(`/staff/cases/${reference}/referral`))
  assert.ok(await triagePage.locator('#stage-referral').isVisible(), 'the detailed referral section')
  assert.match(await triagePage.locator('main').innerText(), /Ethan Reid/)
  await staffAxe(triagePage, 'referral page, detailed referral received')
  await takeStep(triagePage, 'Record reassessment', { decision: 'accepted', reason: 'Suitable for an intervention.' })
  assert.equal(await status(triagePage), 'Reassessed', await errorSummary(triagePage))
  await Promise.all([triagePage.waitForNavigation(), (await menuItem(triagePage, 'Choose a worker', { exact: false })).click()])
  await staffAxe(triagePage, 'allocation form')
  await triagePage.selectOption('#worker', caseworker.email)
  await Promise.all([triagePage.waitForNavigation(), triagePage.click("button:has-text('Save allocation')")])
  assert.equal((await triagePage.textContent('#case-assignee')).trim(), caseworker.email, await errorSummary(triagePage))
  await staffAxe(triagePage, 'case summary, allocated')
  await triagePage.goto(haven.url('/staff/queue'))
  assert.doesNotMatch(await row.innerText(), /New information/i, 'read once the case was opened')
  await triage.close()

  // 5. The caseworker: the case is in their queue; the lone-working concerns come first.
  const work = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const workPage = await work.newPage()
  await firstSignIn(workPage, haven.base, caseworker)
  assert.match(await workPage.locator('main').innerText(), new RegExp(reference))
  await workPage.goto(haven.url(`/staff/cases/${reference}`))
  assert.equal(await status(workPage), 'Reassessed')
  assert.match(await workPage.textContent('#lone-working'), /meetings with each parent separately/)
  await staffAxe(workPage, 'case file, reassessed')

  // Arranging the meeting before recording it is refused, naming what to do.
  await takeStep(workPage, 'Arrange the initial meeting')
  assert.match(await workPage.textContent('.govuk-error-summary'), /Record the meeting/)
  await staffAxe(workPage, 'arranging refused')

  await workPage.goto(haven.url(`/staff/cases/${reference}/meetings`))
  await staffAxe(workPage, 'meetings, none yet')
  await Promise.all([workPage.waitForNavigation(), workPage.click('#record-meeting')])
  assert.match(workPage.url(), /\/meetings\/new$/)
  assert.match(await workPage.textContent('#lone-working'), /meetings with each parent separately/)
  await staffAxe(workPage, 'meeting form')
  await workPage.click("button:has-text('Record meeting')")
  const summary = await workPage.textContent('.govuk-error-summary')
  for (const problem of [/kind of meeting/, /date/, /time/, /where the meeting is/, /who attended/, /plain clothes/]) {
    assert.match(summary, problem)
  }
  await staffAxe(workPage, 'meeting form with errors')
  // A home visit is refused until the lone-working concerns are confirmed as read.
  await workPage.check('#kind-initial_meeting')
  await workPage.fill('#date', '2027-01-12')
  await workPage.fill('#time', '15:30')
  await workPage.check('#place-home')
  await workPage.fill('#attendees', 'The young person, their mother, two officers')
  await workPage.check('#informal-yes')
  await workPage.click("button:has-text('Record meeting')")
  assert.match(await workPage.textContent('.govuk-error-summary'), /lone-working/i)
  await staffAxe(workPage, 'home visit refused')
  // Ethan prefers school: the meeting is there.
  await workPage.check('#place-school')
  await workPage.fill('#place_details', 'Library meeting room')
  await workPage.fill('#attendees', 'The young person, their head of year, two officers')
  await workPage.fill('#notes', 'Relaxed; interested in ethical hacking competitions.')
  await workPage.click("button:has-text('Record meeting')")
  assert.match(workPage.url(), new RegExp(`/staff/cases/${reference}/meetings$`), await errorSummary(workPage))
  assert.match(await workPage.textContent('#meeting-table'), /Initial meeting[\s\S]*Informal, plain clothes/)
  await takeStep(workPage, 'Arrange the initial meeting')
  assert.equal(await status(workPage), 'Initial meeting arranged')
  await staffAxe(workPage, 'case file, meeting arranged')

  // 6. The plan: a goal, an action with an owner and due date, a review.
  await workPage.locator('.moj-sub-navigation').getByRole('link', { name: 'Intervention plan' }).click()
  assert.match(workPage.url(), /\/plan$/)
  await staffAxe(workPage, 'empty plan')
  const planMenu = async name => Promise.all([workPage.waitForNavigation(), (await menuItem(workPage, name, { exact: false })).click()])
  await planMenu('Add a goal')
  await staffAxe(workPage, 'goal form')
  await workPage.click("button:has-text('Add goal')")
  assert.match(await workPage.textContent('.govuk-error-summary'), /Enter the goal/)
  await staffAxe(workPage, 'plan with an error')
  await workPage.fill('#goal-text', 'Use their coding skills in a legal, positive way')
  await workPage.click("button:has-text('Add goal')")
  assert.match(workPage.url(), /\/plan#goals$/, await errorSummary(workPage))
  await planMenu('Add an action')
  await staffAxe(workPage, 'action form')
  await workPage.fill('#action-text', 'Enrol on the regional cyber skills club')
  await workPage.selectOption('#action-goal', { index: 1 })
  await workPage.selectOption('#action-owner', caseworker.email)
  await workPage.fill('#action-due', '2027-02-01')
  await workPage.click("button:has-text('Add action')")
  assert.match(await workPage.textContent('#action-table'), /cyber skills club[\s\S]*To do/)
  // The club's intake moved: the action's due date moves with it.
  const changeAction = () => Promise.all([workPage.waitForNavigation(), workPage.locator('#action-table').getByRole('link', { name: /Change/ }).first().click()])
  await changeAction()
  await staffAxe(workPage, 'changing an action')
  await workPage.fill('#change-due', '2027-02-15')
  await Promise.all([workPage.waitForNavigation(), workPage.click("button:has-text('Save change')")])
  assert.match(await workPage.textContent('#action-table'), /15 February 2027/, await errorSummary(workPage))
  await planMenu('Record a review')
  await staffAxe(workPage, 'review form')
  await workPage.fill('#review-date', '2027-02-02')
  await workPage.fill('#review-summary', 'Attended two club sessions; engaged well.')
  await workPage.click("button:has-text('Record review')")
  assert.match(await workPage.textContent('#next-review'), /2 March 2027/)
  await changeAction()
  await workPage.check('#change-status-done')
  await Promise.all([workPage.waitForNavigation(), workPage.click("button:has-text('Save change')")])
  assert.match(await workPage.textContent('#action-table'), /Done/, await errorSummary(workPage))
  await staffAxe(workPage, 'plan with a goal, a done action and a review')

  await takeStep(workPage, 'Record the intervention plan')
  assert.equal(await status(workPage), 'Intervention planned')
  await takeStep(workPage, 'Start the intervention')
  assert.equal(await status(workPage), 'In intervention')
  await staffAxe(workPage, 'case file, in intervention')

  // 7. Closing after the work needs an outcome from the service's list and a summary.
  await takeStep(workPage, 'Close case', { decision: 'intervention_completed', reason: 'All sessions done.' })
  assert.match(await workPage.textContent('.govuk-error-summary'), /outcome/)
  await staffAxe(workPage, 'closing refused without an outcome')
  await takeStep(workPage, 'Close case', {
    decision: 'intervention_completed',
    reason: 'All sessions done.',
    outcome: 'diverted',
    narrative: 'Now a regular at the cyber skills club; no further concerns.'
  })
  assert.equal(await status(workPage), 'Closed')
  assert.match(await workPage.textContent('#closure'), /Diverted[\s\S]*cyber skills club/)
  assert.deepEqual(await workPage.locator('.moj-button-menu a').allInnerTexts(), ['Family copy'], 'a closed case offers no changes')
  await staffAxe(workPage, 'closed case')
  const events = await chronology(workPage)
  assert.match(events, /Closed with the outcome: Diverted/)
  assert.match(events, /Email sent to s•••@example.org/)
  await staffAxe(workPage, 'chronology of the closed case')
  await work.close()

  // 8. The teacher's follow-up page says the referral is closed, and nothing of the case.
  await page.goto(haven.url('/follow-up'))
  await page.fill('#code', receipt)
  await Promise.all([page.waitForNavigation(), page.click("button:has-text('Continue')")])
  assert.match(await page.textContent('#status'), /This referral is now closed/, await errorSummary(page))
  assert.ok(!/Ethan|booter|cyber skills club/i.test(await page.textContent('main')), 'no case content')
  await checkPage(page, { label: 'follow-up, closed' })
  await referrer.close()
})
