// Drives one stage of a service from its start page to "check your answers", checking every
// page state on the way (lib.mjs checkPage) and taking walkthrough screenshots.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { checkPage, screenshot } from './lib.mjs'
import { fillPage, pressContinue } from './forms.mjs'

/**
 * From the start page of `service` to check answers. Options: `audience` (for "I am…"),
 * `answers`, `files` (see forms.fillPage), `shots` (service name for screenshots, or null),
 * `until(url)` to stop early on a page (returns true to stop), `beforeContinue(page)`.
 */
export async function toCheckAnswers (page, haven, { service, audience, answers, files = {}, shots = null, until = null, beforeContinue = null }) {
  await page.goto(haven.url(`/services/${service}`))
  await checkPage(page)
  if (shots) await screenshot(page, shots, 'start')
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Start now' }).click()])
  if (page.url().endsWith('/who-are-you')) {
    await checkPage(page)
    if (shots) await screenshot(page, shots, 'who-are-you')
    await fillPage(page, { audience })
    await pressContinue(page)
  }
  return continuePages(page, { answers, files, shots, until, beforeContinue })
}

/** Answers page after page until check answers (or `until`). */
export async function continuePages (page, { answers, files = {}, shots = null, until = null, beforeContinue = null }) {
  let previous = null
  let repeats = 0
  for (let step = 0; step < 80; step++) {
    const url = new URL(page.url())
    if (url.pathname.endsWith('/check-answers')) {
      await checkPage(page)
      if (shots) await screenshot(page, shots, 'check-answers')
      return
    }
    assert.match(url.pathname, /\/pages\//, `unexpected page ${url.pathname}`)
    if (until && await until(url.pathname)) return
    repeats = url.pathname === previous ? repeats + 1 : 0
    assert.ok(repeats < 3, `stuck on ${url.pathname}: ${await errorSummary(page)}`)
    previous = url.pathname
    await checkPage(page)
    if (shots && repeats === 0) await screenshot(page, shots, url.pathname.split('/').pop())
    await fillPage(page, answers, files)
    if (beforeContinue) await beforeContinue(page)
    await pressContinue(page)
  }
  assert.fail('never reached check answers')
}

/** The error summary's text, for assertion messages. */
export async function errorSummary (page) {
  const summary = page.locator('.govuk-error-summary')
  return (await summary.count()) ? (await summary.innerText()).replace(/\s+/g, ' ') : '(no error summary)'
}

/** Sends from check answers; returns { reference, receipt } from the confirmation page. */
export async function sendAndConfirm (page, { shots = null } = {}) {
  await Promise.all([page.waitForNavigation(), page.locator('button[name=action][value=submit]').click()])
  assert.match(page.url(), /\/confirmation$/, await errorSummary(page))
  await checkPage(page)
  if (shots) await screenshot(page, shots, 'confirmation')
  const reference = (await page.locator('.govuk-panel__body strong').innerText()).trim()
  const receipt = (await page.locator('#receipt-code').innerText()).trim()
  assert.match(reference, /^[A-Z]+-[0-9A-Z]{4}-[0-9A-Z]{4}$/)
  assert.match(receipt, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/)
  assert.ok(await page.getByText('What happens next').count() > 0 || await page.locator('h2').count() > 1)
  return { reference, receipt }
}

const run = promisify(execFile)

/**
 * `haven outbox …` on `haven`'s data dir: the outbox files are sealed under the master keys,
 * so the emails are read through the command, never from the files.
 */
async function outbox (haven, ...args) {
  const { stdout } = await run(haven.binary, ['outbox', ...args, '--data-dir', haven.dataDir], {
    env: { ...process.env, HAVEN_LOG: 'warn' }
  })
  return stdout
}

/**
 * Waits for the email in `haven`'s outbox carrying a link to an invited stage of `service`;
 * returns the link's path. Fails if the email holds any of `caseWords` (emails never carry
 * case content).
 */
export async function invitationPath (haven, service, caseWords = /booter|kent|ethan/i) {
  const link = new RegExp(`https?://[^/\\s]+(/services/${service}/invitations/[0-9a-f]{64})`)
  const seen = new Set()
  for (let i = 0; i < 150; i++) {
    const listed = JSON.parse(await outbox(haven, 'list', '--json'))
    for (const { id } of listed.reverse()) {
      if (seen.has(id)) continue
      seen.add(id)
      const text = (await outbox(haven, 'show', id)).replace(/=\r?\n/g, '')
      const match = text.match(link)
      if (match) {
        assert.ok(!caseWords.test(text), 'no case content in the email')
        return match[1]
      }
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  assert.fail('no invitation email reached the outbox')
}
