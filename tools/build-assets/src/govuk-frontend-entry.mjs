// The govuk-frontend 6.3.0 components Haven's pages use. esbuild bundles only these (about
// half of the full bundle), as an ES module, for haven.js to import.
export {
  Button,
  CharacterCount,
  Checkboxes,
  ErrorSummary,
  ExitThisPage,
  NotificationBanner,
  Radios,
  SkipLink,
  createAll,
  isSupported,
  version
} from 'govuk-frontend'
