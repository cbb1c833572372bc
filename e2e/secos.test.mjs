// SECOS: the full referral (every section, the screening tool's indicator matrix with its two
// recency columns, repeatable family members and professionals, attachments), saved half way
// and resumed in a fresh browser with the resume code, with JavaScript on and off.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { checkPage, launchBrowser, openPage, screenshot, startHaven } from './lib.mjs'
import { PDF, fillPage, press, sample } from './forms.mjs'
import { continuePages, errorSummary, sendAndConfirm, toCheckAnswers } from './journey.mjs'

let haven, browser
before(async () => { haven = await startHaven(); browser = await launchBrowser() })
after(async () => { await browser?.close(); await haven?.stop() })

const files = {
  'assessments.risk_assessment_tool': [{ name: 'risk-tool.pdf', mimeType: 'application/pdf', buffer: PDF }],
  'assessments.assessment_document': [{ name: 'early-help.pdf', mimeType: 'application/pdf', buffer: PDF }]
}

for (const javaScriptEnabled of [true, false]) {
  test(`a full referral is saved, resumed and sent (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const shots = javaScriptEnabled ? 'secos' : null
    const answers = await sample('secos-referral.json')
    const first = await openPage(browser, haven, { javaScriptEnabled })
    let page = first.page
    // Up to the family page, then "save and come back later".
    await toCheckAnswers(page, haven, {
      service: 'secos',
      audience: 'professional',
      answers,
      files,
      shots,
      until: async () => (await page.locator('input[type=hidden][name="family_members-items"]').count()) > 0
    })
    await fillPage(page, answers)
    assert.ok(await page.locator('[name="family_members[1].name"]').count() > 0, 'a second family member was added')
    if (shots) await screenshot(page, shots, 'family-members', { scrollTo: '[name="family_members[1].name"]' })
    await press(page, 'Save and come back later')
    assert.match(page.url(), /\/saved$/, await errorSummary(page))
    await checkPage(page)
    if (shots) await screenshot(page, shots, 'saved')
    const code = (await page.locator('#resume-code').innerText()).trim()
    assert.match(await page.locator('main').innerText(), /\d{4}/, 'the expiry is stated')
    await first.close()

    // A fresh browser: the resume code brings the answers back.
    const second = await openPage(browser, haven, { javaScriptEnabled })
    page = second.page
    await page.goto(haven.url('/services/secos/resume'))
    await checkPage(page)
    await page.getByLabel('Enter your resume code').fill('WRONG-CODE-0000')
    await press(page, 'Continue')
    assert.match(await errorSummary(page), /not recognised or has expired/)
    await checkPage(page, { label: 'resume with an error' })
    await page.getByLabel('Enter your resume code').fill(code.toLowerCase())
    if (shots) await screenshot(page, shots, 'resume')
    await press(page, 'Continue')
    assert.match(page.url(), /\/pages\//, await errorSummary(page))
    await continuePages(page, { answers, files, shots })
    const summary = await page.locator('main').innerText()
    assert.match(summary, /Current or within 6 months/, 'matrix rows show their recency column')
    assert.match(summary, /Prior to 6 months/)
    assert.match(summary, /1 file attached/)
    const { reference } = await sendAndConfirm(page, { shots })
    assert.match(reference, /^[A-Z]+-/)
    await second.close()
  })
}

test('an error summary links to each field it names', async () => {
  for (const javaScriptEnabled of [true, false]) {
    const { page, close } = await openPage(browser, haven, { javaScriptEnabled })
    await page.goto(haven.url('/services/secos/referral/who-are-you'))
    await press(page, 'Continue')
    assert.match(page.url(), /\/pages\//)
    const link = page.locator('.govuk-error-summary a').first()
    const href = await link.getAttribute('href')
    assert.match(href, /^#/)
    await checkPage(page, { label: `errors (JavaScript ${javaScriptEnabled ? 'on' : 'off'})` })
    if (javaScriptEnabled) await screenshot(page, 'secos-errors', 'error-summary')
    await link.click()
    if (javaScriptEnabled) {
      const focused = await page.evaluate(() => document.activeElement && document.activeElement.id)
      assert.equal(`#${focused}`, href, 'the link moves focus to the field')
    } else {
      assert.ok(page.url().endsWith(href), `${page.url()} goes to ${href}`)
      assert.equal(await page.locator(`[id="${href.slice(1)}"]`).count(), 1)
    }
    await close()
  }
})

// Issue 14: the start page says the risk tool is required, every public footer links the
// follow-up page, the date completed starts at today, and a question that depends on an
// answer appears only when it applies (under the "Yes" with JavaScript; after Continue without).
for (const javaScriptEnabled of [true, false]) {
  const mode = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`
  test(`conditional questions appear only when they apply; the follow-up page is linked (${mode})`, async () => {
    const { page, close } = await openPage(browser, haven, { javaScriptEnabled })
    await page.goto(haven.url('/services/secos'))
    assert.match(await page.locator('#required-files').innerText(), /must attach/)
    assert.match(await page.locator('main').innerText(), /Tees-wide CSE risk assessment tool/)
    const footerLink = page.locator('footer a[href="/follow-up"]')
    assert.equal(await footerLink.count(), 1, 'the footer links the follow-up page')

    const answers = await sample('secos-referral.json')
    await toCheckAnswers(page, haven, {
      service: 'secos', audience: 'professional', answers, files,
      until: async path => path.endsWith('/pages/referrer')
    })
    const today = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', day: 'numeric', month: 'numeric', year: 'numeric' })
      .formatToParts(new Date()).reduce((parts, p) => ({ ...parts, [p.type]: p.value }), {})
    assert.equal(await page.locator('[name="referrer.date_completed-day"]').inputValue(), String(Number(today.day)))
    assert.equal(await page.locator('[name="referrer.date_completed-month"]').inputValue(), String(Number(today.month)))
    assert.equal(await page.locator('[name="referrer.date_completed-year"]').inputValue(), today.year)

    await continuePages(page, { answers, files, until: async path => path.endsWith('/pages/awareness_and_risks') })
    assert.ok(page.url().endsWith('/pages/awareness_and_risks'), page.url())
    assert.equal(await footerLink.count(), 1, 'the footer links the follow-up page on a question page')
    const details = page.locator('[name="lone_working.details"]')
    assert.equal(await details.isVisible(), false, 'asked before it applies')
    await page.locator('[name="aware_of_referral"][value=yes]').check()
    await page.locator('[name="lone_working.concerns"][value=yes]').check()
    if (javaScriptEnabled) {
      assert.equal(await details.isVisible(), true, 'revealed under the yes')
      await checkPage(page, { label: 'lone working revealed' })
      await screenshot(page, 'secos-conditional', 'revealed', { scrollTo: '[name="lone_working.details"]' })
      await page.locator('[name="lone_working.concerns"][value=no]').check()
      assert.equal(await details.isVisible(), false, 'hidden again under no')
      await page.locator('[name="lone_working.concerns"][value=yes]').check()
      await details.fill('Dog at the house.')
      await press(page, 'Continue')
      assert.doesNotMatch(page.url(), /awareness_and_risks$/, await errorSummary(page))
    } else {
      await press(page, 'Continue')
      // The page comes back with the question shown, and no error for it yet.
      assert.ok(page.url().endsWith('/pages/awareness_and_risks'), page.url())
      assert.equal(await details.isVisible(), true, 'shown once it applies')
      assert.equal(await page.locator('.govuk-error-summary').count(), 0, await errorSummary(page))
      await checkPage(page, { label: 'lone working shown (no JavaScript)' })
      await details.fill('Dog at the house.')
      await press(page, 'Continue')
      assert.doesNotMatch(page.url(), /awareness_and_risks$/, await errorSummary(page))
    }
    await Promise.all([page.waitForNavigation(), footerLink.click()])
    assert.ok(page.url().endsWith('/follow-up'), page.url())
    await close()
  })
}
