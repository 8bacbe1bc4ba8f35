// Runs SQL statements with DuckDB (the npm package @duckdb/node-api) and
// prints each result: as JSON lines with --json, else as an aligned table.
// usage: node duckdb.mjs [--json] SQL...
// The module is looked up in CRM_DUCKDB_NODE_MODULES (default
// /usr/local/lib/crm-duckdb/node_modules).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.CRM_DUCKDB_NODE_MODULES || '/usr/local/lib/crm-duckdb/node_modules';
const { DuckDBInstance } = await import(pathToFileURL(path.join(modules, '@duckdb/node-api/lib/index.js')).href);

let args = process.argv.slice(2);
const json = args[0] === '--json';
if (json) args = args.slice(1);
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
for (const sql of args) {
  const reader = await conn.runAndReadAll(sql);
  const rows = reader.getRowObjectsJson();
  if (json) {
    for (const r of rows) console.log(JSON.stringify(r));
    continue;
  }
  const cols = reader.columnNames();
  const cells = rows.map(r => cols.map(c => r[c] === null ? 'NULL' : typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c])));
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map(r => r[i].length)));
  const line = r => '│ ' + r.map((v, i) => v.padEnd(width[i])).join(' │ ') + ' │';
  console.log('┌─' + width.map(w => '─'.repeat(w)).join('─┬─') + '─┐');
  console.log(line(cols));
  console.log('├─' + width.map(w => '─'.repeat(w)).join('─┼─') + '─┤');
  for (const r of cells) console.log(line(r));
  console.log('└─' + width.map(w => '─'.repeat(w)).join('─┴─') + '─┘');
  console.log(`${rows.length} row${rows.length === 1 ? '' : 's'}`);
}
