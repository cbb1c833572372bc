// Browser test of linked cases (issue 16): two SECOS referrals about the same young person
// (the second misspelt) and a CEOP report about them too. A SECOS triage officer confirms the
// possible link on the case summary, reads one chronology across both cases (each event
// naming its case, "Show this case only"), and sees the "Known to another service" alert
// (recorded in the background by `haven serve`) on the queue and in the case's identity
// bar, never styled as urgent. axe-core WCAG 2.2 AA on each state, JavaScript on and off.
//
// Run: (cd e2e && node --test --test-concurrency=1 ./linked.test.mjs)
// HAVEN_SCREENSHOTS=1 writes docs/walkthrough/linked/NN-*.png.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, launchBrowser, openPage, screenshot } from './lib.mjs'
import { firstSignIn, staffAxe, serveDataDir } from './staff-session.mjs'
import { uploadSampleFiles } from './uploads.mjs'

const bin = process.env.HAVEN_BIN ?? join(ROOT, 'target/debug/haven')
const password = 'Linked-Cases-Tees-Valley-2026'
const oneTimePasswords = {}
let server, dataDir, base, browser

function haven (args) {
  return execFileSync(bin, ['--data-dir', dataDir, ...args], { encoding: 'utf8', env: { ...process.env, HAVEN_LOG: 'warn' } })
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'haven-e2e-linked-'))
  for (const suffix of ['js', 'nojs']) {
    oneTimePasswords[suffix] = haven(['admin', 'create-user', '--email', `triage-${suffix}@secos.example`, '--role', 'triage', '--team', 'secos']).trim()
  }
  ;({ server, base } = await serveDataDir(dataDir, { bin }))
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  server?.kill('SIGTERM')
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

function sample (name) {
  return JSON.parse(readFileSync(join(ROOT, `services/samples/${name}.json`), 'utf8'))
}

async function submit (body) {
  const r = await fetch(`${base}/api/v1/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  assert.equal(r.status, 201, await r.clone().text())
  return (await r.json()).reference
}

async function secosAbout (name, dob) {
  const answers = sample('secos-referral')
  answers.young_person.name = name
  answers.young_person.date_of_birth = dob
  await uploadSampleFiles(base, answers)
  return submit({ service: 'secos', stage: 'referral', audience: 'professional', answers })
}

async function ceopAbout (name, dob) {
  const answers = sample('ceop-report-parent')
  answers.child.name = name
  answers.child.date_of_birth = dob
  answers.child.location = '14 Sample Street, Middlesbrough TS9 9ZY'
  return submit({ service: 'ceop', stage: 'report', audience: 'parent_carer', answers })
}

test('a triage officer confirms a link, reads one chronology, and sees the known elsewhere alert', async () => {
  for (const javaScriptEnabled of [true, false]) {
    const suffix = javaScriptEnabled ? 'js' : 'nojs'
    // A different child per pass, so each pass has its own link to confirm.
    const [name, misspelt, dob] = javaScriptEnabled
      ? ['Maya Clarke', 'Maia Clark', '2012-02-09']
      : ['Jayden O\'Neil', 'Jaiden Oneill', '2011-03-07']
    const first = await secosAbout(name, dob)
    const second = await secosAbout(misspelt, dob)
    const ceop = await ceopAbout(name, dob)
    const { page, close } = await openPage(browser, { base }, { javaScriptEnabled, width: 1280 })
    page.havenJavaScript = javaScriptEnabled
    await firstSignIn(page, base, { email: `triage-${suffix}@secos.example`, oneTimePassword: oneTimePasswords[suffix], password })

    // The alert is recorded in the background (the matcher polls every 2 s).
    let badge
    for (let i = 0; i < 50; i++) {
      await page.goto(`${base}/staff/queue`)
      badge = page.locator(`#queue tr:has(a[href="/staff/cases/${first}"]) .moj-badge--blue`)
      if (await badge.count()) break
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    assert.equal((await badge.textContent()).trim(), 'Known to another service')
    await staffAxe(page, `queue with the known elsewhere badge (${suffix})`)
    if (javaScriptEnabled) await screenshot(page, 'linked', 'queue-known-elsewhere', { scrollTo: '#queue' })

    // The case summary: the identity bar's badge, the alert, the possible link explained.
    await page.goto(`${base}/staff/cases/${second}`)
    assert.match(await page.locator('#identity').textContent(), /Known to another service/)
    assert.equal(await page.locator('#identity .moj-badge--red').count(), 0, 'not urgent')
    assert.ok(await page.locator('#known-elsewhere-alert').count(), 'the alert')
    assert.ok(await page.locator(`#link-${first}`).count(), 'the possible link')
    assert.ok(!(await page.content()).includes(ceop), 'never the other team\'s reference')
    await staffAxe(page, `case summary with a possible link and the alert (${suffix})`)
    if (javaScriptEnabled) {
      // Tall enough to show the identity bar, the alert and the possible link together.
      await page.setViewportSize({ width: 1280, height: 2000 })
      await screenshot(page, 'linked', 'case-summary-known-elsewhere')
      await page.setViewportSize({ width: 1280, height: 900 })
    }
    await Promise.all([
      page.waitForNavigation(),
      page.locator(`#link-${first} button[value=confirm]`).click()
    ])
    assert.ok(await page.locator(`#link-${first} .govuk-tag--green`).count(), 'confirmed')

    // One chronology across both cases, newest first, each event naming its case.
    await page.goto(`${base}/staff/cases/${second}/chronology`)
    const cases = await page.locator('.haven-timeline__case a').allInnerTexts()
    assert.ok(cases.includes(first) && cases.includes(second), cases.join(' '))
    assert.ok(!cases.includes(ceop))
    await staffAxe(page, `combined chronology (${suffix})`)
    if (javaScriptEnabled) await screenshot(page, 'linked', 'combined-chronology', { scrollTo: '#linked-cases' })
    await Promise.all([page.waitForNavigation(), page.click('#only-this-case')])
    assert.equal(await page.locator('.haven-timeline__case').count(), 0)
    assert.ok(await page.locator('#with-linked-cases').count())
    await staffAxe(page, `this case only (${suffix})`)
    await close()
  }
})
