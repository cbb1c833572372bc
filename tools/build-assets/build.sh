#!/usr/bin/env bash
# Rebuilds Haven's committed static assets (assets/) from govuk-frontend 6.3.0 and Haven's
# own Sass/JS. Needs node and npm (the npm registry). node_modules stays out of git.
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
mkdir -p "$out/images"
# CSS: govuk-frontend's Sass (only the components used) + Haven's rules, minified.
npx sass --quiet-deps --no-source-map --style=compressed --load-path=node_modules \
  src/haven.scss "$out/haven.min.css"
# govuk-frontend's JavaScript: only the components Haven uses (src/govuk-frontend-entry.mjs),
# bundled and minified as one ES module.
npx esbuild src/govuk-frontend-entry.mjs --bundle --format=esm --minify --target=es2020 \
  --legal-comments=none \
  --banner:js="/* govuk-frontend $version (MIT, (C) Crown Copyright): the components Haven uses. See govuk-frontend-LICENSE.txt */" \
  --outfile="$out/govuk-frontend.min.js" --log-level=warning
# Haven's progressive enhancement and icon (hand written, copied as is).
cp src/haven.js "$out/haven.js"
cp src/favicon.svg "$out/images/favicon.svg"
cp src/govuk-frontend-LICENSE.txt "$out/govuk-frontend-LICENSE.txt"
# Refuse anything that would break Haven's rules: the crown or GDS Transport.
# (The footer's `.govuk-footer__crown` rule names govuk-crest.svg, but Haven's markup never
# uses that class, so no browser fetches it, and the image is not shipped.)
if grep -qi "GDS Transport\|/fonts/" "$out/haven.min.css"; then
  echo "haven.min.css still refers to GDS Transport or its fonts" >&2
  exit 1
fi
ls -l "$out"
