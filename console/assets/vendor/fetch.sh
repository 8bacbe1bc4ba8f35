#!/usr/bin/env bash
# Re-fetches the console's vendored front-end files from npm with `npm pack`
# (no Node build): the built file, its licence, and the version recorded in
# VERSIONS. Run from anywhere; needs npm.
#
#   htmx.org  -> console/assets/vendor/htmx.min.js      (served to browsers)
#   axe-core  -> console/testdata/axe.min.js            (browser tests only)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
testdata="$here/../../testdata"
HTMX_VERSION="${HTMX_VERSION:-2.0.11}"
AXE_VERSION="${AXE_VERSION:-4.14.1}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

unpack() { # name version -> $tmp/name/package
  mkdir -p "$tmp/$1"
  (cd "$tmp/$1" && npm pack --silent "$1@$2" >/dev/null && tar -xzf ./*.tgz)
}

unpack htmx.org "$HTMX_VERSION"
cp "$tmp/htmx.org/package/dist/htmx.min.js" "$here/htmx.min.js"
cp "$tmp/htmx.org/package/LICENSE" "$here/htmx.LICENSE"

unpack axe-core "$AXE_VERSION"
cp "$tmp/axe-core/package/axe.min.js" "$testdata/axe.min.js"
cp "$tmp/axe-core/package/LICENSE" "$testdata/axe.LICENSE"

cat > "$here/VERSIONS" <<VERSIONS
# package   version          licence   file
htmx.org    $HTMX_VERSION    0BSD      console/assets/vendor/htmx.min.js
axe-core    $AXE_VERSION     MPL-2.0   console/testdata/axe.min.js
VERSIONS
echo "fetched htmx.org $HTMX_VERSION and axe-core $AXE_VERSION"
