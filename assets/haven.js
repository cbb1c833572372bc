// Haven's progressive enhancement. Every page works without this file; with it:
// - the body gets `js-enabled` and `govuk-frontend-supported` (GOV.UK's template does this
//   with an inline script, which Haven's Content-Security-Policy forbids);
// - govuk-frontend's components start (exit this page, character counts, error summary…);
// - free-text answers that must not identify anyone (`data-haven-anonymity-check`) are
//   checked as the person types, and what looks identifying is named under the field.
import {
  Button,
  CharacterCount,
  Checkboxes,
  ErrorSummary,
  ExitThisPage,
  NotificationBanner,
  Radios,
  SkipLink,
  createAll
} from './govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
for (const Component of [Button, CharacterCount, Checkboxes, ErrorSummary, NotificationBanner, Radios, SkipLink]) {
  createAll(Component)
}

// govuk-frontend's Radios mark a radio that reveals a question with `aria-expanded`, which
// ARIA does not allow on a radio (axe: aria-allowed-attr). The revealed question follows its
// radio in the page, so nothing is lost without it: take it off each time the component
// sets it (at start, on every click, when a page is shown again).
const stripRadioExpanded = () => {
  for (const radio of document.querySelectorAll('input[type=radio][aria-expanded]')) radio.removeAttribute('aria-expanded')
}
stripRadioExpanded()
document.addEventListener('click', stripRadioExpanded)
document.addEventListener('change', stripRadioExpanded)
window.addEventListener('pageshow', stripRadioExpanded)

// Exit this page (button or Shift three times): the component would leave with
// `location.href`, which keeps this page in the history for Back to bring back. Leave with
// `location.replace` instead, through the button's address (`/services/exit`), which ends
// the form session on the server before sending the browser on to the exit site.
for (const exit of createAll(ExitThisPage)) {
  exit.exitPage = () => {
    document.body.classList.add('govuk-exit-this-page-hide-content')
    window.location.replace(exit.$button.href)
  }
}

// A page brought back by Back or Forward must show what the server knows now (nothing,
// once the person has left with "Exit this page"), never answers the browser kept: reload
// a page restored from the back/forward cache, and put every form control back to what
// the server sent when the browser restored what was typed (on Back, Forward or reload).
window.addEventListener('pageshow', event => {
  if (event.persisted) window.location.reload()
})
const navigation = window.performance?.getEntriesByType?.('navigation')?.[0]
if (navigation?.type === 'back_forward' || navigation?.type === 'reload') {
  // Chromium restores form state after the module has run: reset once the page has loaded.
  window.addEventListener('load', () => {
    for (const form of document.forms) form.reset()
  })
}

// Words for each finding kind of POST /api/v1/anonymity-check (spec/contract.md).
const KIND_WORDS = {
  name: 'a name',
  email: 'an email address',
  phone: 'a phone number',
  date_of_birth: 'a date of birth',
  postcode: 'a postcode',
  address: 'an address',
  online_handle: 'an online username or handle',
  school: 'a school',
  other: 'something that may identify someone'
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

// Findings carry UTF-8 byte offsets; JavaScript strings are UTF-16, so slice the bytes.
function excerpt (bytes, finding) {
  const start = Math.max(0, Math.min(bytes.length, finding.start | 0))
  const end = Math.max(start, Math.min(bytes.length, finding.end | 0))
  return decoder.decode(bytes.subarray(start, end))
}

function show (output, text, findings) {
  output.textContent = ''
  if (!findings.length) {
    return
  }
  const bytes = encoder.encode(text)
  const intro = document.createElement('p')
  intro.className = 'govuk-body'
  intro.textContent = 'This may identify the young person. Please remove:'
  const list = document.createElement('ul')
  list.className = 'govuk-list govuk-list--bullet'
  for (const finding of findings) {
    const item = document.createElement('li')
    const words = KIND_WORDS[finding.kind] || KIND_WORDS.other
    item.textContent = `${words}: \u201c${excerpt(bytes, finding)}\u201d`
    list.appendChild(item)
  }
  output.appendChild(intro)
  output.appendChild(list)
}

function watch (field) {
  const url = field.getAttribute('data-haven-anonymity-check')
  const output = document.getElementById(`${field.id}-live`)
  if (!url || !output) {
    return
  }
  let timer = null
  let latest = 0
  const check = async () => {
    const text = field.value
    const ticket = ++latest
    if (!text.trim()) {
      show(output, '', [])
      return
    }
    try {
      const response = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ text })
      })
      if (!response.ok || ticket !== latest) {
        return
      }
      const answer = await response.json()
      if (ticket === latest && Array.isArray(answer.findings)) {
        show(output, text, answer.identifying ? answer.findings : [])
      }
    } catch {
      // The server checks again on submit; a failed live check only loses the hint.
    }
  }
  field.addEventListener('input', () => {
    window.clearTimeout(timer)
    timer = window.setTimeout(check, 700)
  })
}

document.querySelectorAll('[data-haven-anonymity-check]').forEach(watch)
