// Safety on the public side, with JavaScript on and off: "a child is in immediate danger"
// stops the form with "call 999 now" first; "Exit this page" leaves nothing behind (Back
// shows no answers, the form session is gone on the server); the follow-up page has an exit.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { checkPage, launchBrowser, openPage, screenshot, startHaven } from './lib.mjs'
import { fillPage, pressContinue } from './forms.mjs'

// The exit site is the server's own index page: the tests run offline.
const EXIT_PATH = '/?left=1'
let haven, browser
before(async () => {
  haven = await startHaven({ env: base => ({ HAVEN_EXIT_URL: base + EXIT_PATH }) })
  browser = await launchBrowser()
})
after(async () => { await browser?.close(); await haven?.stop() })

async function startReport (page, audience = 'young_person') {
  await page.goto(haven.url('/services/ceop/report/who-are-you'))
  await fillPage(page, { audience })
  await pressContinue(page)
  assert.match(page.url(), /\/pages\/danger$/)
}

for (const javaScriptEnabled of [true, false]) {
  const mode = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`

  test(`"a child is in danger" shows call 999 first, then the report carries on (${mode})`, async () => {
    const { page, close } = await openPage(browser, haven, { javaScriptEnabled })
    await startReport(page)
    await fillPage(page, { immediate_danger: true })
    await pressContinue(page)
    assert.match(page.url(), /\/pages\/call_999$/)
    await checkPage(page)
    if (javaScriptEnabled) await screenshot(page, 'ceop-danger', 'call-999')
    assert.equal(await page.locator('a[href="tel:999"]').count(), 1, 'a tap-to-call link')
    assert.ok(await page.getByText('What to tell them').count() > 0)
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: /carry on with the report/ }).click()])
    assert.match(page.url(), /\/pages\/concerns$/)
    await close()
  })

  test(`after "Exit this page", Back shows no answers and the session is gone (${mode})`, async () => {
    const { page, context, close } = await openPage(browser, haven, { javaScriptEnabled })
    await startReport(page)
    for (const answers of [{ immediate_danger: false }, { concerns: ['sexual_chat'] }, { child: { age: 14 } }]) {
      await fillPage(page, answers)
      await pressContinue(page)
    }
    assert.match(page.url(), /\/pages\/what_happened$/)
    const secret = 'He keeps messaging me every night on the game'
    await page.locator('textarea[name=description]').fill(secret)
    if (javaScriptEnabled) {
      // Shift three times, as the page tells people to.
      await page.locator('textarea[name=description]').focus()
      await Promise.all([
        page.waitForURL(url => url.href.endsWith(EXIT_PATH)),
        (async () => { for (let i = 0; i < 3; i++) await page.keyboard.press('Shift') })()
      ])
    } else {
      await Promise.all([page.waitForURL(url => url.href.endsWith(EXIT_PATH)), page.getByRole('button', { name: /Exit this page/ }).click()])
    }
    const cookies = await context.cookies()
    assert.ok(!cookies.some(c => c.name === 'haven_form' && c.value), 'the form cookie is cleared')
    // Back through the report's pages, to "I am…": none shows the typed text or an answer
    // (the forms say autocomplete="off", so Chromium keeps no form state to bring back).
    let reachedWhoAreYou = false
    for (let i = 0; i < 6; i++) {
      const back = await page.goBack({ waitUntil: 'load' }).catch(() => null)
      if (!back) break
      const html = await page.content()
      assert.ok(!html.includes(secret), `the typed text came back on ${page.url()}`)
      const typed = await page.$$eval('textarea, input[type=text]', els => els.map(e => e.value).filter(Boolean))
      assert.deepEqual(typed, [], `answers came back on ${page.url()}`)
      const checked = await page.$$eval('input[type=radio]:checked, input[type=checkbox]:checked', els => els.map(e => e.name))
      assert.deepEqual(checked, [], `choices came back on ${page.url()} (step ${i}, ${await page.evaluate(() => performance.getEntriesByType('navigation')[0]?.type + ' ' + document.body.className)})`)
      if (javaScriptEnabled && i === 0) await screenshot(page, 'ceop-danger', 'back-after-exit')
      if (page.url().endsWith('/who-are-you')) { reachedWhoAreYou = true; break }
    }
    assert.ok(reachedWhoAreYou, 'Back reached the "I am…" page')
    // The server has no session to go on with: the report starts again.
    await page.goto(haven.url('/services/ceop/report/pages/what_happened'))
    assert.doesNotMatch(page.url(), /\/pages\/what_happened$/)
    await close()
  })
}

for (const javaScriptEnabled of [true, false]) {
  test(`after "Exit this page" on the first question, Back shows "I am…" with nothing chosen (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const { page, close } = await openPage(browser, haven, { javaScriptEnabled })
    await startReport(page, 'parent_carer')
    await page.locator('[name=immediate_danger][value=no]').check()
    await Promise.all([page.waitForURL(url => url.href.endsWith(EXIT_PATH)), page.getByRole('button', { name: /Exit this page/ }).click()])
    for (let i = 0; i < 3 && !page.url().endsWith('/who-are-you'); i++) {
      await page.goBack({ waitUntil: 'load' })
      const checked = await page.$$eval('input[type=radio]:checked', els => els.map(e => `${e.name}=${e.value}`))
      assert.deepEqual(checked, [], `choices came back on ${page.url()}`)
    }
    assert.ok(page.url().endsWith('/who-are-you'), page.url())
    await close()
  })
}

test('the follow-up page has an exit control (no JavaScript needed)', async () => {
  const { page, close } = await openPage(browser, haven, { javaScriptEnabled: false })
  await page.goto(haven.url('/follow-up'))
  await checkPage(page)
  await Promise.all([page.waitForURL(url => url.href.endsWith(EXIT_PATH)), page.getByRole('button', { name: /Exit this page/ }).click()])
  await close()
})
