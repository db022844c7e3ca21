#!/usr/bin/env node
// Online copy of the husky-relay log for machines without the sqlite3 CLI:
//   node deploy/backup.mjs SOURCE.db OUT.db
// Independent of husky-relay's code; needs only better-sqlite3 from the checkout's
// node_modules (this file sits in the checkout, so `import` finds it).
//
// VACUUM INTO reads the database in one read transaction, so the copy is the consistent
// state of one moment (WAL included) while `serve` keeps appending; it never blocks writers.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';

const [source, out] = process.argv.slice(2);
if (!source || !out) {
  process.stderr.write('usage: node deploy/backup.mjs SOURCE.db OUT.db\n');
  process.exit(1);
}
if (!existsSync(source)) {
  process.stderr.write(`backup: no database at ${source}\n`);
  process.exit(1);
}
if (existsSync(out)) {
  process.stderr.write(`backup: ${out} exists; refusing to overwrite it\n`);
  process.exit(1);
}

const db = new Database(source, { readonly: true, fileMustExist: true, timeout: 10_000 });
try {
  db.prepare('VACUUM INTO ?').run(out);
} finally {
  db.close();
}

const copy = new Database(out, { readonly: true });
try {
  const check = copy.pragma('integrity_check', { simple: true });
  if (check !== 'ok') throw new Error(`integrity_check of ${out}: ${check}`);
} finally {
  copy.close();
}
