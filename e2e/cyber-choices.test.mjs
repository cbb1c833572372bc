// Cyber Choices: the anonymised enquiry. What looks identifying is named as the person types
// (JavaScript on), shown marked next to the text by the server (both), and the enquiry is
// accepted once the person confirms "this is not a person's details".
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { checkPage, launchBrowser, openPage, screenshot, startHaven } from './lib.mjs'
import { fillPage, pressContinue, sample } from './forms.mjs'
import { continuePages, sendAndConfirm, toCheckAnswers } from './journey.mjs'

let haven, browser
before(async () => { haven = await startHaven(); browser = await launchBrowser() })
after(async () => { await browser?.close(); await haven?.stop() })

const NAMED = 'Sam Smith in Year 10 has been paying for a booter service to knock other players offline during games.'

for (const javaScriptEnabled of [true, false]) {
  test(`an enquiry with a name is flagged, confirmed and sent (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const { page, close } = await openPage(browser, haven, { javaScriptEnabled })
    const shots = javaScriptEnabled ? 'cyber-choices' : null
    const answers = { ...await sample('cyber-choices-enquiry.json'), summary: NAMED }
    await toCheckAnswers(page, haven, {
      service: 'cyber-choices',
      audience: 'professional',
      answers,
      shots,
      until: async () => (await page.locator('textarea[name=summary]').count()) > 0
    })
    await fillPage(page, answers)
    if (javaScriptEnabled) {
      // The live check names what it found while the person is still on the page.
      const live = page.locator('[id="summary-live"]')
      await live.filter({ hasText: 'a name' }).waitFor({ timeout: 5000 })
      await checkPage(page, { label: 'summary with the live warning' })
      if (shots) await screenshot(page, shots, 'live-anonymity-warning', { scrollTo: '[id="summary-live"]' })
    }
    await pressContinue(page)
    // The server refuses it until confirmed, showing the text with the finding marked.
    assert.match(page.url(), /\/pages\//)
    const summary = page.locator('.govuk-error-summary')
    assert.match(await summary.innerText(), /may identify someone/)
    assert.ok(await page.locator('mark').count() > 0, 'the finding is marked in the text')
    await checkPage(page, { label: 'summary with findings' })
    if (shots) await screenshot(page, shots, 'findings', { scrollTo: 'mark' })
    const confirmed = { ...answers, anonymity_confirmed: ['summary'] }
    await fillPage(page, confirmed)
    await pressContinue(page)
    await continuePages(page, { answers: confirmed, shots })
    assert.match(await page.locator('main').innerText(), /booter/)
    const { reference } = await sendAndConfirm(page, { shots })
    assert.match(reference, /-/)
    // The confirmation gives the follow-up page's full address (HAVEN_PUBLIC_URL) to note.
    const followUp = page.locator('#follow-up-address a')
    assert.equal(await followUp.innerText(), haven.url('/follow-up'))
    assert.equal(await page.locator('footer a[href="/follow-up"]').count(), 1)
    await Promise.all([page.waitForNavigation(), followUp.click()])
    assert.equal(page.url(), haven.url('/follow-up'))
    await close()
  })
}

test('a parent is asked who they are once', async () => {
  const { page, close } = await openPage(browser, haven, { javaScriptEnabled: false })
  const answers = await sample('cyber-choices-enquiry.json')
  await toCheckAnswers(page, haven, {
    service: 'cyber-choices',
    audience: 'parent_carer',
    answers,
    until: async path => path.endsWith('/pages/about_you')
  })
  await checkPage(page)
  const text = await page.locator('main').innerText()
  assert.doesNotMatch(text, /best describes/, 'asked again after "Who are you?"')
  assert.match(text, /Your email address/)
  await close()
})
