#!/usr/bin/env bash
# Rebuilds Haven's committed static assets (assets/) from govuk-frontend 6.3.0, the Ministry
# of Justice design system (@ministryofjustice/frontend 11.1.0, whose supported govuk-frontend
# range ^6.0.0 includes 6.3.0; only the components the staff pages use) and Haven's own Sass/JS. Needs node and npm (the npm registry). node_modules stays out of git.
#
#   tools/build-assets/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/assets"
cd "$here"
npm ci --no-audit --no-fund --ignore-scripts
gf="$here/node_modules/govuk-frontend"
version="$(node -p "require('$gf/package.json').version")"
if [ "$version" != "6.3.0" ]; then
  echo "expected govuk-frontend 6.3.0, found $version" >&2
  exit 1
fi
moj_version="$(node -p "require('$here/node_modules/@ministryofjustice/frontend/package.json').version")"
if [ "$moj_version" != "11.1.0" ]; then
  echo "expected @ministryofjustice/frontend 11.1.0, found $moj_version" >&2
  exit 1
fi
mkdir -p "$out/images"
# CSS: govuk-frontend's and MOJ's Sass (only the components used) + Haven's rules, minified.
# (`--load-path=.`: MOJ's Sass loads govuk-frontend as `node_modules/govuk-frontend/…`.)
npx sass --quiet-deps --no-source-map --style=compressed --load-path=node_modules --load-path=. \
  src/haven.scss "$out/haven.min.css"
# The staff pages' CSS: the same govuk-frontend components plus the staff pages' own (service
# navigation, select, pagination) and MOJ's, in a file of its own (public pages stay light).
npx sass --quiet-deps --no-source-map --style=compressed --load-path=node_modules --load-path=. \
  src/staff.scss "$out/staff.min.css"
# govuk-frontend's JavaScript: only the components Haven uses (src/govuk-frontend-entry.mjs),
# bundled and minified as one ES module.
npx esbuild src/govuk-frontend-entry.mjs --bundle --format=esm --minify --target=es2020 \
  --legal-comments=none \
  --banner:js="/* govuk-frontend $version (MIT, (C) Crown Copyright): the components Haven uses. See govuk-frontend-LICENSE.txt */" \
  --outfile="$out/govuk-frontend.min.js" --log-level=warning
# The staff pages' script: MOJ's ButtonMenu and FilterToggleButton with the govuk-frontend
# code they build on (src/staff.js), bundled and minified as one ES module.
npx esbuild src/staff.js --bundle --format=esm --minify --target=es2020 --legal-comments=none \
  --banner:js="/* Haven staff pages: @ministryofjustice/frontend $moj_version (MIT) ButtonMenu and FilterToggleButton on govuk-frontend $version (MIT, (C) Crown Copyright). */" \
  --outfile="$out/staff.min.js" --log-level=warning
# Haven's progressive enhancement and icon (hand written, copied as is).
cp src/haven.js "$out/haven.js"
cp src/favicon.svg "$out/images/favicon.svg"
cp src/govuk-frontend-LICENSE.txt "$out/govuk-frontend-LICENSE.txt"
# Refuse anything that would break Haven's rules: the crown or GDS Transport.
# (The footer's `.govuk-footer__crown` rule names govuk-crest.svg, but Haven's markup never
# uses that class, so no browser fetches it, and the image is not shipped.)
for css in haven.min.css staff.min.css; do
  if grep -qi "GDS Transport\|/fonts/" "$out/$css"; then
    echo "$css still refers to GDS Transport or its fonts" >&2
    exit 1
  fi
done
ls -l "$out"
