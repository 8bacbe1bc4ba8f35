#!/usr/bin/env bash
# Re-fetches the Message DB SQL scripts the bench installs (see README.md)
# from the npm package and copies the ones it needs here. The bench itself
# never fetches anything: it embeds these files.
#
#   internal/bench/messagedb/fetch.sh [VERSION]   # default 1.3.1
set -euo pipefail

version=${1:-1.3.1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "@eventide/message-db@$version" >/dev/null && tar xzf "eventide-message-db-$version.tgz")
src=$tmp/package/database

# Schema, table, type, functions and indexes: what install.sh creates, less
# the role, the pgcrypto extension (gen_random_uuid is built into
# PostgreSQL 13 and later), the views and the privileges.
files=(
  schema/message-store.sql
  tables/messages.sql
  types/message.sql
  functions/message-store-version.sql
  functions/hash-64.sql
  functions/acquire-lock.sql
  functions/category.sql
  functions/is-category.sql
  functions/id.sql
  functions/cardinal-id.sql
  functions/stream-version.sql
  functions/write-message.sql
  functions/get-stream-messages.sql
  functions/get-category-messages.sql
  functions/get-last-stream-message.sql
  indexes/messages-id.sql
  indexes/messages-stream.sql
  indexes/messages-category.sql
)
rm -rf "$here/schema" "$here/tables" "$here/types" "$here/functions" "$here/indexes"
for f in "${files[@]}"; do
  mkdir -p "$here/$(dirname "$f")"
  cp "$src/$f" "$here/$f"
done
cp "$tmp/package/MIT-License.txt" "$here/LICENSE"
cp "$src/VERSION.txt" "$here/VERSION.txt"
# The bench runs the scripts in this order.
printf '%s\n' "${files[@]}" >"$here/install-order.txt"
echo "copied ${#files[@]} scripts of @eventide/message-db $version (database version $(cat "$src/VERSION.txt"))"
