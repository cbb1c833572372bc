// Cyber Choices, enquiry to detailed referral: the referrer sends an anonymised enquiry
// through the public form (JavaScript off), staff sign in and mark it suitable (which sends
// the detailed form by itself), the email with the single-use link lands in the outbox folder, the link
// opens the detailed form (token-free address), the form is sent, and the same case in the
// staff view shows the detailed referral. axe-core (WCAG 2.2 AA) on every page.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { checkPage, launchBrowser, openPage, startHaven } from './lib.mjs'
import { chronology, firstSignIn, staffAxe, takeStep } from './staff-session.mjs'
import { sample } from './forms.mjs'
import { continuePages, errorSummary, invitationPath, sendAndConfirm, toCheckAnswers } from './journey.mjs'

let haven, browser, oneTimePassword
const email = 'triage@cyber-choices.example'
const chosenPassword = 'Thames-Valley-Cyber-Choices-2026'

before(async () => {
  haven = await startHaven()
  browser = await launchBrowser()
  oneTimePassword = execFileSync(haven.binary, ['--data-dir', haven.dataDir, 'admin', 'create-user',
    '--email', email, '--role', 'triage', '--team', 'cyber-choices'], { encoding: 'utf8' }).trim()
})
after(async () => { await browser?.close(); await haven?.stop() })

test('enquiry → suitable → the emailed link → the detailed form on the same case', async () => {
  // 1. The referrer's anonymised enquiry, without JavaScript.
  const referrer = await openPage(browser, haven, { javaScriptEnabled: false })
  await toCheckAnswers(referrer.page, haven, {
    service: 'cyber-choices',
    audience: 'professional',
    answers: await sample('cyber-choices-enquiry.json')
  })
  const { reference } = await sendAndConfirm(referrer.page)
  assert.match(reference, /^CYB-/)

  // 2. Staff mark it suitable: that one click sends the detailed form's link.
  const staff = await browser.newContext()
  const staffPage = await staff.newPage()
  await firstSignIn(staffPage, haven.base, { email, oneTimePassword, password: chosenPassword })
  await staffAxe(staffPage, 'queue')
  await staffPage.goto(haven.url(`/staff/cases/${reference}`))
  await staffAxe(staffPage, 'case file')
  await takeStep(staffPage, 'Record suitability decision', { decision: 'suitable' })
  assert.match(await staffPage.textContent('#case-status'), /Detailed referral form requested/, await errorSummary(staffPage))
  await staffAxe(staffPage, 'case after the suitability decision')

  // 3. The link from the email: a token-free address, the detailed form, sent.
  const path = await invitationPath(haven, 'cyber-choices')
  const token = path.split('/').pop()
  const page = referrer.page
  // Clicked in a webmail page (another site), so the browser sends no SameSite=Strict cookie
  // with that first request.
  await page.goto('about:blank')
  await page.setContent(`<!doctype html><html lang="en"><title>Inbox</title><a id="email-link" href="${haven.url(path)}">Complete the referral form</a></html>`)
  await Promise.all([page.waitForNavigation(), page.click('#email-link')])
  // The link's own page uses nothing (mail scanners fetch links); its button starts the form.
  await checkPage(page, { label: 'invitation start page' })
  await Promise.all([page.waitForNavigation(), page.click("button:has-text('Start the form')")])
  assert.match(page.url(), /\/services\/cyber-choices\/referral\/pages\//)
  assert.ok(!page.url().includes(token), 'the token is not left in the address')
  await continuePages(page, { answers: await sample('cyber-choices-referral.json') })
  assert.match(await page.locator('main').innerText(), /Ethan Reid/)
  await Promise.all([page.waitForNavigation(), page.locator('button[name=action][value=submit]').click()])
  assert.match(page.url(), /\/referral\/confirmation$/, await errorSummary(page))
  await checkPage(page)
  assert.equal((await page.locator('.govuk-panel__body strong').innerText()).trim(), reference)
  assert.equal(await page.locator('#receipt-code').count(), 0, 'no second receipt code')

  // 4. The link works once.
  const other = await openPage(browser, haven, { javaScriptEnabled: false })
  const response = await other.page.goto(haven.url(path))
  assert.equal(response.status(), 410)
  assert.match(await other.page.locator('main').innerText(), /already been used/)
  await checkPage(other.page, { label: 'used link' })
  await other.close()

  // 5. The same case, in the staff view, shows the detailed referral.
  await staffPage.goto(haven.url(`/staff/cases/${reference}`))
  assert.match(await staffPage.textContent('#case-status'), /Detailed referral received/)
  assert.match(await staffPage.locator('#identity').innerText(), /Ethan Reid/, 'the identity bar names him')
  await staffPage.goto(haven.url(`/staff/cases/${reference}/referral`))
  const stage = staffPage.locator('#stage-referral')
  assert.ok(await stage.isVisible(), 'the detailed referral section')
  assert.match(await staffPage.locator('main').innerText(), /Ethan Reid/)
  await staffAxe(staffPage, 'case with the detailed referral')
  assert.match(await chronology(staffPage), /Email sent to s•••@example.org/)
  await staff.close()
  await referrer.close()
})
