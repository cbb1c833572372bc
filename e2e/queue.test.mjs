// Browser test of the staff queue (issue 13): a team's queue of seeded cases (`haven dev
// seed`: urgent, new information and overdue ones among them), its MOJ sortable headings
// (server-side links, with JavaScript on and off), its badges at 320 px and on a desktop.
// axe-core WCAG 2.2 AA on each state.
//
// Run: (cd e2e && node --test --test-concurrency=1 ./queue.test.mjs)
// HAVEN_SCREENSHOTS=1 writes docs/walkthrough/queue/NN-*.png.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, launchBrowser, screenshot } from './lib.mjs'
import { firstSignIn, staffAxe } from './staff-session.mjs'

const bin = process.env.HAVEN_BIN ?? join(ROOT, 'target/debug/haven')
const email = 'queue@secos.example'
const password = 'Tees-Valley-Queue-Sorting-2026'
let server, dataDir, base, browser, oneTimePassword

function haven (args) {
  return execFileSync(bin, ['--data-dir', dataDir, ...args], { encoding: 'utf8', env: { ...process.env, HAVEN_LOG: 'warn' } })
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'haven-e2e-queue-'))
  oneTimePassword = haven(['admin', 'create-user', '--email', email, '--role', 'triage', '--team', 'secos']).trim()
  // Cases of the last three weeks: a few urgent, some overdue, some with new information.
  haven(['dev', 'seed', '--count', '400', '--days', '21'])
  const port = 20000 + Math.floor(Math.random() * 20000)
  base = `http://127.0.0.1:${port}`
  server = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HAVEN_LOG: 'warn' }
  })
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break
    } catch { /* not yet listening */ }
    if (i > 300) throw new Error('haven serve did not become ready')
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  server?.kill('SIGTERM')
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

/** The references of the queue's rows, in order. */
async function references (page) {
  return page.locator('#queue tbody tr td:first-child a').allInnerTexts()
}

test('the queue sorts by its headings on the server, with and without JavaScript, and its badges fit 320 px', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  await firstSignIn(page, base, { email, oneTimePassword, password })
  const cookies = await context.cookies()
  await staffAxe(page, 'queue')
  const usual = await references(page)
  assert.ok(usual.length > 10, `rows: ${usual.length}`)
  assert.equal(await page.getAttribute('th:has-text("Band")', 'aria-sort'), 'descending')
  assert.ok(await page.locator('#queue .moj-badge--red').count() > 0, 'an urgent case')
  await screenshot(page, 'queue', 'queue-desktop')

  // Received, oldest first: a link (the MOJ script is not loaded to sort the page itself).
  await Promise.all([page.waitForNavigation(), page.click('th a:has-text("Received")')])
  assert.match(page.url(), /sort=received&order=ascending/)
  assert.equal(await page.getAttribute('th:has-text("Received")', 'aria-sort'), 'ascending')
  assert.match(await page.textContent('#queue-order'), /Oldest first/)
  await staffAxe(page, 'queue by received')
  await Promise.all([page.waitForNavigation(), page.click('th a:has-text("Received")')])
  assert.equal(await page.getAttribute('th:has-text("Received")', 'aria-sort'), 'descending')
  assert.notDeepEqual(await references(page), usual)
  await screenshot(page, 'queue', 'queue-newest-first')

  // A filter keeps the sort (the filter form carries it), and the headings keep the filter.
  await page.goto(`${base}/staff/queue?sort=due&order=ascending&urgent=yes`)
  const due = await page.getAttribute('th a:has-text("Due")', 'href')
  assert.match(due, /urgent=yes/)
  await staffAxe(page, 'urgent cases by due date')

  // Overdue cases, where the seed made any (its SECOS cases have no first-contact due date).
  await page.goto(`${base}/staff/queue?overdue=yes`)
  await staffAxe(page, 'overdue cases')

  // 320 px, with JavaScript on and off: the badges read well (screenshots looked at).
  for (const javaScriptEnabled of [true, false]) {
    const narrow = await browser.newContext({ viewport: { width: 320, height: 900 }, javaScriptEnabled })
    await narrow.addCookies(cookies)
    const small = await narrow.newPage()
    small.havenJavaScript = javaScriptEnabled
    await small.goto(`${base}/staff/queue`)
    assert.match(small.url(), /\/staff\/queue$/)
    await staffAxe(small, `queue at 320 px, JavaScript ${javaScriptEnabled ? 'on' : 'off'}`)
    assert.deepEqual(await references(small), usual)
    await screenshot(small, 'queue', `queue-320-js-${javaScriptEnabled ? 'on' : 'off'}`, { scrollTo: '#queue' })
    await small.goto(`${base}/staff/queue?overdue=yes&sort=due&order=ascending`)
    await staffAxe(small, `overdue cases at 320 px, JavaScript ${javaScriptEnabled ? 'on' : 'off'}`)
    await screenshot(small, 'queue', `overdue-320-js-${javaScriptEnabled ? 'on' : 'off'}`, { scrollTo: '#queue, #queue-empty' })
    await narrow.close()
  }
  await context.close()
})
