// Shared helpers of the staff browser tests: one-time codes, the first sign-in of an account
// made with `haven admin create-user`, axe-core on staff pages, a workflow step, and serving a data
// directory the test prepared with the CLI (`serveDataDir`).
//
//   import { totp, firstSignIn, staffAxe, takeStep, chronology } from './staff-session.mjs'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { AxeBuilder } from '@axe-core/playwright'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT, WCAG_TAGS, axeWithoutJavaScript } from './lib.mjs'

/**
 * `haven serve` on a data directory the test prepared with the CLI (accounts, seeds, mail),
 * on a random loopback port; resolves once /readyz answers. Returns { server, base }.
 */
export async function serveDataDir (dataDir, { bin = process.env.HAVEN_BIN ?? join(ROOT, 'target/debug/haven') } = {}) {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const base = `http://127.0.0.1:${port}`
  const server = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HAVEN_LOG: 'warn' }
  })
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { server, base }
    } catch { /* not yet listening */ }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  server.kill('SIGTERM')
  throw new Error('haven serve did not become ready')
}

/** RFC 6238 code (HMAC-SHA1, 6 digits, 30 s) for a base32 secret at `at` (ms). */
export function totp (secretBase32, at = Date.now()) {
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

/**
 * Zero axe-core WCAG 2.2 AA violations on a staff page as it is now (staff pages are not
 * held to the public pages' 320px and weight budgets of lib.mjs's checkPage).
 */
export async function staffAxe (page, label) {
  await page.waitForLoadState('load')
  // axe needs JavaScript: a page of a context without it is checked through lib.mjs's copy.
  const result = page.havenJavaScript === false
    ? await axeWithoutJavaScript(page)
    : await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze()
  const problems = result.violations.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')})`)
  assert.deepEqual(problems, [], `axe violations on ${label}`)
}

/**
 * First sign-in at `base` of an account with a one-time password: a new password, an
 * authenticator app, the recovery codes; ends on the queue. axe on each page.
 */
export async function firstSignIn (page, base, { email, oneTimePassword, password }) {
  await page.goto(`${base}/staff/sign-in`)
  await staffAxe(page, 'sign-in')
  await page.fill('#email', email)
  await page.fill('#password', oneTimePassword)
  await page.click("button:has-text('Continue')")
  assert.match(page.url(), /\/staff\/password$/)
  await staffAxe(page, 'new password')
  await page.fill('#current_password', oneTimePassword)
  await page.fill('#new_password', password)
  await page.fill('#confirm_password', password)
  await page.click("button:has-text('Save password')")
  assert.match(page.url(), /\/staff\/sign-in\/set-up$/)
  await staffAxe(page, 'authenticator set-up')
  const secret = (await page.textContent('#totp-secret')).trim()
  await page.fill('#code', totp(secret))
  await page.click("button:has-text('Confirm')")
  assert.equal((await page.$$('#recovery-codes li')).length, 10)
  await staffAxe(page, 'recovery codes')
  await page.click("a:has-text('continue')")
  assert.match(page.url(), /\/staff\/queue$/)
}

/** The case page address (`…/staff/cases/REF`) of whichever page of a case `page` is on. */
export function caseAddress (page) {
  const match = page.url().match(/^(.*\/staff\/cases\/[A-Z0-9-]+)/)
  assert.ok(match, `not on a case: ${page.url()}`)
  return match[1]
}

/**
 * Takes the workflow step whose button says `label`: from the case's summary, its button
 * menu opens the step's own page, where the decision (its value), reason, closure outcome
 * and summary are filled when given; waits for the page it lands on (the case again, or the
 * step's page with its errors).
 */
export async function takeStep (page, label, { decision, reason, outcome, narrative } = {}) {
  const summary = caseAddress(page)
  if (page.url() !== summary) await page.goto(summary)
  await Promise.all([page.waitForNavigation(), (await menuItem(page, label)).click()])
  assert.match(page.url(), /\/transitions\/[a-z_]+$/)
  const form = page.locator('form', { has: page.locator(`button:has-text("${label}")`) })
  if (decision) await form.locator(`input[name=decision][value=${decision}]`).check()
  if (reason) await form.locator('textarea[name=reason]').fill(reason)
  if (outcome) await form.locator(`input[name=outcome][value=${outcome}]`).check()
  if (narrative) await form.locator('textarea[name=narrative]').fill(narrative)
  await Promise.all([page.waitForNavigation(), form.locator('button').click()])
}

/**
 * An item of the page's MOJ button menu: with JavaScript the items sit in a menu behind its
 * "Actions" toggle (opened here first); without it they are plain buttons.
 */
export async function menuItem (page, name, { exact = true } = {}) {
  // The menu is made by the staff bundle (a module script): wait until it has run, or the
  // items could be folded away after we looked for the toggle.
  await page.waitForLoadState('load')
  const toggle = page.locator('.moj-button-menu > button[aria-expanded]')
  if (await toggle.count() && await toggle.getAttribute('aria-expanded') !== 'true') await toggle.click()
  return page.locator('.moj-button-menu').getByRole('button', { name, exact })
}

/** The case's chronology (its own page), as text; leaves `page` there. */
export async function chronology (page) {
  await page.goto(`${caseAddress(page)}/chronology`)
  return page.locator('#chronology').innerText()
}
