// Checks rendered pages in a real browser (Debian's chromium, driven by playwright-core):
// WCAG 2.2 AA rules (axe-core), no horizontal scroll at 320px, Haven's CSP (sent with every
// page here, so an inline script or style attribute shows up as a violation), haven.js runs,
// no request leaves the server, and the page weight.
//
//   cargo run -p haven-pages --example preview -- /tmp/preview
//   node tools/build-assets/check-pages.mjs /tmp/preview
//
// Serves the directory itself on 127.0.0.1 (a random port) and stops when done.
import { createServer } from 'node:http'
import { readFile, readdir, stat } from 'node:fs/promises'
import { extname, join, relative, sep } from 'node:path'
import { chromium } from 'playwright-core'
import { AxeBuilder } from '@axe-core/playwright'

const root = process.argv[2]
if (!root) {
  console.error('usage: node check-pages.mjs DIR')
  process.exit(2)
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium'
// Haven's policy for public pages (the server sends the same).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml' }

async function pages (dir) {
  const out = []
  for (const name of await readdir(dir)) {
    const path = join(dir, name)
    if ((await stat(path)).isDirectory()) {
      if (name !== 'assets') out.push(...await pages(path))
    } else if (name === 'index.html') {
      out.push('/' + relative(root, dir).split(sep).join('/'))
    }
  }
  return out
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost')
  let path = join(root, decodeURIComponent(url.pathname))
  if (!extname(path)) path = join(path, 'index.html')
  try {
    const body = await readFile(path)
    const headers = { 'Content-Type': TYPES[extname(path)] || 'application/octet-stream' }
    if (extname(path) === '.html') headers['Content-Security-Policy'] = CSP
    res.writeHead(200, headers).end(body)
  } catch {
    res.writeHead(404).end()
  }
})
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${server.address().port}`

// Free-text fields checked for anonymity warn as the person types: the API is answered here
// with a finding for "Sam", and the warning must name it in words.
async function liveAnonymityCheck (page) {
  const field = page.locator('[data-haven-anonymity-check]').first()
  if (await field.count() === 0) return []
  await page.route('**/api/v1/anonymity-check', async route => {
    const { text } = route.request().postDataJSON()
    const bytes = Buffer.from(text, 'utf8')
    const start = bytes.indexOf(Buffer.from('Sam', 'utf8'))
    const findings = start >= 0 ? [{ kind: 'name', start, end: start + 3 }] : []
    await route.fulfill({ json: { identifying: findings.length > 0, findings } })
  })
  await field.fill('Zoë’s friend Sam has been using a booter')
  const id = await field.getAttribute('id')
  const live = page.locator(`[id="${id}-live"]`)
  try {
    await live.filter({ hasText: 'a name: \u201cSam\u201d' }).waitFor({ timeout: 3000 })
    return []
  } catch {
    return [`live anonymity warning not shown (region says: ${JSON.stringify(await live.textContent())})`]
  }
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] })
const failures = []
let checked = 0
let heaviest = { bytes: 0, path: '' }
try {
  for (const path of await pages(root)) {
    for (const [width, javaScriptEnabled] of [[320, true], [1280, true], [320, false]]) {
      const context = await browser.newContext({ viewport: { width, height: 800 }, javaScriptEnabled })
      const page = await context.newPage()
      const problems = []
      let bytes = 0
      page.on('console', msg => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
      page.on('pageerror', err => problems.push(`script error: ${err.message}`))
      page.on('request', req => { if (!req.url().startsWith(base)) problems.push(`request leaves the server: ${req.url()}`) })
      page.on('response', async res => { try { bytes += (await res.body()).length } catch {} })
      const response = await page.goto(base + path + '/', { waitUntil: 'load' })
      if (!response || !response.ok()) problems.push(`HTTP ${response && response.status()}`)
      await page.waitForTimeout(javaScriptEnabled ? 150 : 0)
      const scroll = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      if (scroll > 0) problems.push(`scrolls sideways by ${scroll}px at ${width}px`)
      if (javaScriptEnabled) {
        const enhanced = await page.evaluate(() => document.body.classList.contains('js-enabled'))
        if (!enhanced) problems.push('haven.js did not run')
        const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze()
        for (const v of axe.violations) {
          problems.push(`axe ${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')})`)
        }
        if (bytes > heaviest.bytes) heaviest = { bytes, path }
        problems.push(...await liveAnonymityCheck(page))
      }
      if (bytes > 150 * 1000) problems.push(`page weight ${bytes} bytes`)
      for (const p of problems) failures.push(`${path} [${width}px${javaScriptEnabled ? '' : ', no JS'}] ${p}`)
      checked++
      await context.close()
    }
  }
} finally {
  await browser.close()
  server.close()
}
console.log(`heaviest page: ${heaviest.path} ${heaviest.bytes} bytes uncompressed`)
for (const f of failures) console.log(f)
console.log(`${checked - new Set(failures.map(f => f.split(' ').slice(0, 2).join(' '))).size} passed, ${new Set(failures.map(f => f.split(' ').slice(0, 2).join(' '))).size} failed`)
process.exit(failures.length ? 1 : 0)
