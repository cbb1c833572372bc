// Fills Haven's public question pages from an answers document (services/samples/*.json),
// the way a person would: typing, ticking, choosing files and pressing buttons. It reads
// the page's own controls and finds each control's answer by its name, using the field
// naming scheme of docs/frontend.md (`KEY`, `KEY-day`, `KEY.ROW`, `KEY[I].FIELD`), so one
// filler works for every page of every service, with JavaScript on or off.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ROOT } from './lib.mjs'

/** The smallest PDF that content sniffing accepts as one. */
export const PDF = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n')

/** A sample answers document from services/samples. */
export async function sample (name) {
  return JSON.parse(await readFile(join(ROOT, 'services/samples', name), 'utf8'))
}

/** The answer at a control name's path (`a.b`, `list[1].name`), or undefined. */
export function answerAt (answers, name) {
  let node = answers
  for (const [, key, index] of name.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (node === undefined || node === null) return undefined
    node = index !== undefined ? node[Number(index)] : node[key]
  }
  return node
}

function datePart (answers, name) {
  const m = name.match(/^(.*)-(day|month|year)$/)
  if (!m) return undefined
  const date = answerAt(answers, m[1])
  if (typeof date !== 'string') return undefined
  const [year, month, day] = date.split('-')
  return { day: String(Number(day)), month: String(Number(month)), year }[m[2]]
}

function wanted (answer, value) {
  if (Array.isArray(answer)) return answer.includes(value)
  if (typeof answer === 'boolean') return (value === 'yes') === answer
  return answer === value || answer === 'both'
}

/** How many items of each repeatable list the page shows (hidden `KEY-items`). */
async function itemCounts (page) {
  return page.$$eval('input[type=hidden][name$="-items"]', inputs =>
    inputs.map(i => [i.name.slice(0, -'-items'.length), Number(i.value)]))
}

/**
 * Answers every control of the current page from `answers`; adds items to repeatable lists
 * until they hold as many as the answers; `files` maps a file question key to
 * [{ name, mimeType, buffer }].
 */
export async function fillPage (page, answers, files = {}) {
  for (let round = 0; round < 10; round++) {
    let added = false
    for (const [key, shown] of await itemCounts(page)) {
      const list = answerAt(answers, key)
      if (Array.isArray(list) && list.length > shown) {
        await fillControls(page, answers, files)
        await page.locator(`button[name=action][value="add:${key}"]`).click()
        await page.waitForLoadState('load')
        added = true
        break
      }
    }
    if (!added) break
  }
  await fillControls(page, answers, files)
}

async function fillControls (page, answers, files) {
  const controls = await page.$$eval('form [name]', els => els.map(e => ({
    tag: e.tagName.toLowerCase(), type: (e.getAttribute('type') || '').toLowerCase(), name: e.name, value: e.value, id: e.id
  })))
  for (const c of controls) {
    if (['hidden', 'submit'].includes(c.type) || c.tag === 'button' || c.name === 'csrf_token') continue
    const locator = c.id ? page.locator(`[id="${c.id}"]`) : page.locator(`[name="${c.name}"][value="${c.value}"]`)
    // A conditional question still hidden under an option not chosen (without JavaScript it
    // stays hidden until the page is sent, and the page then comes back with it shown).
    if (c.type !== 'file' && await locator.evaluate(e => e.closest('.govuk-radios__conditional--hidden, .govuk-checkboxes__conditional--hidden') !== null)) continue
    if (c.type === 'file') {
      if (files[c.name]) await locator.setInputFiles(files[c.name])
      continue
    }
    if (c.type === 'radio' || c.type === 'checkbox') {
      let answer = answerAt(answers, c.name)
      if (c.name === 'anonymity_confirmed') answer = answers.anonymity_confirmed || []
      if (c.name.endsWith('-remove')) continue
      if (answer === undefined) continue
      const want = wanted(answer, c.value)
      if (want !== await locator.isChecked()) await locator.setChecked(want)
      continue
    }
    const answer = datePart(answers, c.name) ?? answerAt(answers, c.name)
    if (answer === undefined || answer === null || typeof answer === 'object') continue
    if (c.tag === 'select') await locator.selectOption(String(answer))
    else await locator.fill(String(answer))
  }
}

/** Presses the page's visible "Continue" button and waits for the next page. */
export async function pressContinue (page) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name: 'Continue', exact: true }).click()
  ])
}

/** Presses a button by its visible name and waits for the next page. */
export async function press (page, name) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name, exact: true }).click()
  ])
}
