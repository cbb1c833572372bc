import { chromium } from 'playwright-core'
const [,, cookie, width, ...paths] = process.argv
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
const ctx = await browser.newContext({ viewport: { width: Number(width), height: 900 } })
await ctx.addCookies([{ name: 'haven_session', value: cookie, domain: '127.0.0.1', path: '/' }])
const page = await ctx.newPage()
for (const p of paths) {
  await page.goto(`http://127.0.0.1:18080${p}`)
  await page.screenshot({ path: `/tmp/hv/q${p.replace(/\//g, '_')}-${width}.png`, fullPage: false })
  console.log(p, await page.evaluate(() => [document.documentElement.scrollWidth, document.body.innerText.match(/Signed in/g)?.length]))
}
await browser.close()
