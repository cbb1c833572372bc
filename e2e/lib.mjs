// Shared helpers of Haven's browser tests. Import what you need:
//
//   import { startHaven, launchBrowser, openPage, checkPage, screenshot } from './lib.mjs'
//
//   const haven = await startHaven()            // target/debug/haven on a free port, temp data
//   const browser = await launchBrowser()       // Debian's /usr/bin/chromium, never a download
//   const { page, close } = await openPage(browser, haven, { javaScriptEnabled: false })
//   await page.goto(haven.url('/services/ceop'))
//   await checkPage(page)                       // axe WCAG 2.2 AA, 320px, no outside requests, weight
//   await close(); await browser.close(); await haven.stop()
//
// Every page opened with openPage records its requests: checkPage fails if any left the
// server or if the page (with what it loaded) transferred 150 KB or more.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, mkdir, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import { chromium } from 'playwright-core'
import { AxeBuilder } from '@axe-core/playwright'

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** WCAG 2.2 AA, as axe-core tags them. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']

/** Most bytes a public page may transfer, with everything it loads. */
export const MAX_PAGE_BYTES = 150 * 1000

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

async function freePort () {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolvePort(port))
    })
  })
}

/**
 * Starts `target/debug/haven serve` on a free port with a temporary data dir and a random
 * HAVEN_SECRET_KEY, and waits for /readyz. Returns { base, dataDir, binary, url(path), stop() }
 * (`haven outbox list|show --data-dir dataDir` reads the emails sent).
 * `env` adds environment variables (e.g. HAVEN_DATABASE_URL), or is a function of the base
 * address returning them.
 */
export async function startHaven ({ env = {} } = {}) {
  const port = await freePort()
  // `env` may depend on the address (e.g. an exit site on the server itself, offline).
  if (typeof env === 'function') env = env(`http://127.0.0.1:${port}`)
  const dataDir = await mkdtemp(join(tmpdir(), 'haven-e2e-'))
  const binary = process.env.HAVEN_BIN || join(ROOT, 'target/debug/haven')
  const child = spawn(binary, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    // Links written out in full (emails, the confirmation's follow-up address) lead here.
    env: { ...process.env, HAVEN_SECRET_KEY: randomBytes(32).toString('hex'), HAVEN_LOG: 'warn', HAVEN_PUBLIC_URL: `http://127.0.0.1:${port}`, ...env },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', chunk => { stderr += chunk })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haven exited (${child.exitCode}): ${stderr}`)
    try {
      const response = await fetch(`${base}/readyz`)
      if (response.ok) break
    } catch {}
    if (Date.now() > deadline) {
      child.kill()
      throw new Error(`haven did not become ready: ${stderr}`)
    }
    await new Promise(resolveWait => setTimeout(resolveWait, 100))
  }
  return {
    base,
    dataDir,
    binary,
    url: path => base + path,
    async stop () {
      if (child.exitCode === null) {
        const exited = new Promise(resolveExit => child.once('exit', resolveExit))
        child.kill('SIGTERM')
        await exited
      }
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}

/** Launches Debian's Chromium headless (never downloads a browser). */
export async function launchBrowser () {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

/**
 * A new browser context and page on `haven`, recording every request. Options:
 * `javaScriptEnabled` (default true), `width` (default 1280).
 * Returns { page, context, traffic, close() }; `traffic` = { outside: [urls], loads, errors }.
 */
export async function openPage (browser, haven, { javaScriptEnabled = true, width = 1280 } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, javaScriptEnabled })
  const page = await context.newPage()
  // `loads`: the requests of the current page, from its main-frame navigation on.
  const traffic = { outside: [], loads: [], errors: [] }
  page.on('request', request => {
    if (!request.url().startsWith(haven.base) && !request.url().startsWith('data:')) traffic.outside.push(request.url())
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) traffic.loads = []
    traffic.loads.push(request)
  })
  page.on('pageerror', error => traffic.errors.push(`script error: ${error.message}`))
  // Chromium logs every 4xx as a console error, including a form page shown again with errors
  // (422) on purpose: subresources are checked by status instead.
  page.on('console', message => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) traffic.errors.push(`console: ${message.text()}`)
  })
  page.on('response', response => {
    if (response.status() >= 400 && !response.request().isNavigationRequest()) traffic.errors.push(`HTTP ${response.status()}: ${response.url()}`)
  })
  page.traffic = traffic
  page.havenJavaScript = javaScriptEnabled
  return { page, context, traffic, close: () => context.close() }
}

/**
 * Checks the page as it is now: zero axe WCAG 2.2 AA violations, no horizontal scroll at
 * 320px, no request that left the server, no script or CSP error, and under 150 KB
 * transferred for the page and what it loaded. Returns the axe result.
 */
export async function checkPage (page, { label = page.url() } = {}) {
  await page.waitForLoadState('load')
  const traffic = page.traffic
  const axe = page.havenJavaScript === false ? await axeWithoutJavaScript(page) : await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze()
  const violations = axe.violations.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')})`)
  assert.deepEqual(violations, [], `axe violations on ${label}`)
  const viewport = page.viewportSize()
  await page.setViewportSize({ width: 320, height: viewport.height })
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
  await page.setViewportSize(viewport)
  assert.ok(scroll <= 0, `${label} scrolls sideways by ${scroll}px at 320px`)
  if (traffic) {
    assert.deepEqual(traffic.outside, [], `requests that left the server from ${label}`)
    assert.deepEqual(traffic.errors, [], `script or CSP errors on ${label}`)
    const bytes = await transferred(traffic.loads)
    assert.ok(bytes < MAX_PAGE_BYTES, `${label} transferred ${bytes} bytes`)
  }
  return axe
}

/**
 * axe-core needs JavaScript (it schedules work with timers), so a page of a context without
 * JavaScript is analysed as a copy: its HTML exactly as it is now, without its scripts, in a
 * JavaScript-enabled context at the same address (assets come from the server as usual).
 */
export async function axeWithoutJavaScript (page) {
  const html = (await page.content()).replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '')
  const context = await page.context().browser().newContext({ viewport: page.viewportSize() })
  try {
    const copy = await context.newPage()
    const url = page.url().split('#')[0]
    await copy.route(url, route => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }))
    await copy.goto(url, { waitUntil: 'load' })
    return await new AxeBuilder({ page: copy }).withTags(WCAG_TAGS).analyze()
  } finally {
    await context.close()
  }
}

/** Bytes transferred (headers and encoded bodies) by these requests. */
export async function transferred (requests) {
  let bytes = 0
  for (const request of requests) {
    try {
      const response = await request.response()
      if (!response) continue
      await response.finished()
      const sizes = await request.sizes()
      bytes += sizes.responseBodySize + sizes.responseHeadersSize
    } catch {}
  }
  return bytes
}

const shotCounters = new Map()

/**
 * With HAVEN_SCREENSHOTS=1: writes a viewport PNG of the page to
 * docs/walkthrough/<service>/NN-<step>.png (numbered in call order per service).
 * `scrollTo` (a selector) brings that part of the page into view first. Returns the path
 * written, or null.
 */
export async function screenshot (page, service, step, { scrollTo = null } = {}) {
  if (process.env.HAVEN_SCREENSHOTS !== '1') return null
  if (scrollTo) await page.locator(scrollTo).first().scrollIntoViewIfNeeded()
  const n = (shotCounters.get(service) || 0) + 1
  shotCounters.set(service, n)
  const dir = join(ROOT, 'docs/walkthrough', service)
  await mkdir(dir, { recursive: true })
  const path = join(dir, `${String(n).padStart(2, '0')}-${step}.png`)
  await page.screenshot({ path, fullPage: false })
  return path
}
