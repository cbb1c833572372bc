// CEOP: a parent's report from the start page to the confirmation, with JavaScript on and
// off; the "I am…" answer changes the wording; an out-of-scope report gets signposts.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { checkPage, launchBrowser, openPage, screenshot, startHaven } from './lib.mjs'
import { fillPage, pressContinue, sample } from './forms.mjs'
import { sendAndConfirm, toCheckAnswers } from './journey.mjs'

let haven, browser
before(async () => { haven = await startHaven(); browser = await launchBrowser() })
after(async () => { await browser?.close(); await haven?.stop() })

for (const javaScriptEnabled of [true, false]) {
  test(`a parent's report is sent (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const { page, close } = await openPage(browser, haven, { javaScriptEnabled })
    const shots = javaScriptEnabled ? 'ceop' : null
    await toCheckAnswers(page, haven, { service: 'ceop', audience: 'parent_carer', answers: await sample('ceop-report-parent.json'), shots })
    assert.ok(await page.getByText('Do not send', { exact: false }).count() >= 0)
    assert.equal(await page.locator('input[type=file]').count(), 0, 'CEOP never offers an upload')
    const { reference } = await sendAndConfirm(page, { shots })
    assert.match(reference, /^CEOP-/)
    await close()
  })
}

test('"I am…" chooses the wording of the pages', async () => {
  const headings = {}
  for (const audience of ['young_person', 'parent_carer']) {
    const { page, close } = await openPage(browser, haven)
    await page.goto(haven.url('/services/ceop/report/who-are-you'))
    await fillPage(page, { audience })
    await pressContinue(page)
    await checkPage(page)
    headings[audience] = await page.locator('h1').first().innerText()
    await close()
  }
  assert.notEqual(headings.young_person, headings.parent_carer, JSON.stringify(headings))
})

test('a bullying report is kindly pointed elsewhere straight after the concerns, and not stored', async () => {
  const { page, close } = await openPage(browser, haven, { javaScriptEnabled: false })
  const answers = await sample('ceop-report-bullying.json')
  await page.goto(haven.url('/services/ceop/report/who-are-you'))
  await fillPage(page, { audience: 'young_person' })
  await pressContinue(page)
  for (let step = 0; step < 5 && page.url().includes('/pages/'); step++) {
    assert.equal(await page.locator('textarea[name=description], input[name="reporter.name"]').count(), 0,
      'no description or name is asked before the service says it cannot take the report')
    await fillPage(page, answers)
    await pressContinue(page)
  }
  assert.match(page.url(), /\/other-help$/)
  assert.ok(await page.getByText('cannot take reports about bullying', { exact: false }).count() > 0)
  await checkPage(page)
  await screenshot(page, 'ceop-signpost', 'other-help')
  assert.ok(await page.getByText('0808 800 5000').count() > 0, 'the NSPCC helpline is offered')
  await close()
})
