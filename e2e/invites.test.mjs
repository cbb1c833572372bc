// Cyber Choices, enquiry to detailed referral: the referrer sends an anonymised enquiry
// through the public form (JavaScript off), staff sign in and mark it suitable and send the
// detailed form, the email with the single-use link lands in the outbox folder, the link
// opens the detailed form (token-free address), the form is sent, and the same case in the
// staff view shows the detailed referral. axe-core (WCAG 2.2 AA) on every page.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import { WCAG_TAGS, checkPage, launchBrowser, openPage, startHaven } from './lib.mjs'
import { sample } from './forms.mjs'
import { continuePages, errorSummary, sendAndConfirm, toCheckAnswers } from './journey.mjs'

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

/** RFC 6238 code for a base32 secret (as in staff.test.mjs). */
function totp (secretBase32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of secretBase32.replace(/\s+/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const bytes = Buffer.from(bits.match(/.{8}/g).map(b => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)))
  const mac = createHmac('sha1', bytes).update(counter).digest()
  const offset = mac[mac.length - 1] & 15
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

/** axe WCAG 2.2 AA on a staff page (staff pages are not held to the public pages' weight budget). */
async function axe (page, label) {
  const result = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze()
  const problems = result.violations.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)
  assert.deepEqual(problems, [], `axe violations on ${label}`)
}

/** Waits for the email carrying the invitation link; returns the link's path. */
async function invitationPath () {
  const outbox = join(haven.dataDir, 'outbox')
  for (let i = 0; i < 150; i++) {
    let names = []
    try { names = await readdir(outbox) } catch {}
    for (const name of names) {
      const text = (await readFile(join(outbox, name), 'utf8')).replace(/=\r?\n/g, '')
      const match = text.match(/https?:\/\/[^/\s]+(\/services\/cyber-choices\/invitations\/[0-9a-f]{64})/)
      if (match) {
        assert.ok(!/booter|kent/i.test(text), 'no case content in the email')
        return match[1]
      }
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  assert.fail('no invitation email reached the outbox')
}

/** First sign-in: one-time password, new password, TOTP enrolment, recovery codes. */
async function signIn (page) {
  await page.goto(haven.url('/staff/queue'))
  assert.match(page.url(), /\/staff\/sign-in$/)
  await axe(page, 'sign-in')
  await page.fill('#email', email)
  await page.fill('#password', oneTimePassword)
  await page.click("button:has-text('Continue')")
  assert.match(page.url(), /\/staff\/password$/)
  await page.fill('#current_password', oneTimePassword)
  await page.fill('#new_password', chosenPassword)
  await page.fill('#confirm_password', chosenPassword)
  await page.click("button:has-text('Save password')")
  assert.match(page.url(), /\/staff\/sign-in\/set-up$/)
  const secret = (await page.textContent('#totp-secret')).trim()
  await page.fill('#code', totp(secret))
  await page.click("button:has-text('Confirm')")
  await axe(page, 'recovery codes')
  await page.click("a:has-text('continue')")
  assert.match(page.url(), /\/staff\/queue$/)
  await axe(page, 'queue')
}

/** Takes the workflow step whose heading is `label` on the case page. */
async function step (page, label, decision = null) {
  const form = page.locator('form', { has: page.locator(`h3:text-is("${label}")`) })
  if (decision) await form.getByLabel(decision, { exact: true }).check()
  await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').click()])
}

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

  // 2. Staff mark it suitable and send the detailed form.
  const staff = await browser.newContext()
  const staffPage = await staff.newPage()
  await signIn(staffPage)
  await staffPage.goto(haven.url(`/staff/cases/${reference}`))
  await axe(staffPage, 'case file')
  await step(staffPage, 'Record suitability decision', 'Suitable for a referral')
  assert.match(await staffPage.textContent('#case-status'), /Suitability decided/, await errorSummary(staffPage))
  await axe(staffPage, 'case after the suitability decision')
  await step(staffPage, 'Send the detailed referral form')
  assert.match(await staffPage.textContent('#case-status'), /Detailed referral form requested/, await errorSummary(staffPage))
  await axe(staffPage, 'case after sending the form')

  // 3. The link from the email: a token-free address, the detailed form, sent.
  const path = await invitationPath()
  const token = path.split('/').pop()
  const page = referrer.page
  await page.goto(haven.url(path))
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
  const stage = staffPage.locator('#stage-referral')
  assert.ok(await stage.isVisible(), 'the detailed referral section')
  assert.match(await staffPage.locator('main').innerText(), /Ethan Reid/)
  assert.match(await staffPage.locator('#chronology ~ table').innerText(), /Email sent to s•••@example.org/)
  await axe(staffPage, 'case with the detailed referral')
  await staff.close()
  await referrer.close()
})
