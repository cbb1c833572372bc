// The staff pages' progressive enhancement (bundled by build.sh into assets/staff.min.js,
// loaded as a module by crates/haven/templates/staff/layout.html). Every staff page works
// without it: the case's actions are plain buttons and the queue's filters are shown. With
// it (the Ministry of Justice design system's own components, no inline script):
// - the case's actions become one "Actions" button menu (MOJ ButtonMenu);
// - the queue's filters fold away behind "Show filters" (MOJ FilterToggleButton), so the
//   table of cases has the page's whole width.
import { ButtonMenu, FilterToggleButton } from '@ministryofjustice/frontend'
import { createAll } from 'govuk-frontend'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')

createAll(ButtonMenu, { buttonText: 'Actions', buttonClasses: 'govuk-button--secondary' })

for (const filter of document.querySelectorAll('[data-module="moj-filter"]')) {
  // Folded away at every width; shown above the table when asked for.
  new FilterToggleButton(filter, { // eslint-disable-line no-new
    bigModeMediaQuery: '(min-width: 999em)',
    startHidden: true,
    toggleButton: { showText: 'Show filters', hideText: 'Hide filters', classes: 'govuk-button--secondary' },
    toggleButtonContainer: { selector: '.moj-action-bar__filter' },
    closeButton: { text: 'Close', classes: 'moj-filter__close' },
    closeButtonContainer: { selector: '.moj-filter__header-action' }
  })
}
