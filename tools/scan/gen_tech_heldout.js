#!/usr/bin/env node
// Turns tools/scan/tech_heldout.txt ([P:..] PERSON, [L:..] LOCATION markup, # comments) into
// test/data/scan/tech_heldout.jsonl, in eval.jsonl's shape (UTF-8 byte offsets, end exclusive).
//   node tools/scan/gen_tech_heldout.js [IN] [OUT] [--unlisted] [--prefix ID]
// --prefix: the rows' id prefix (default "tech"; tools/scan/names_heldout.txt uses "names").
// --unlisted (tools/scan/tech_unlisted.txt): fails on a line without a capitalised word outside
// the markup that is no tech_terms.txt entry (the products under test), and lists the entries
// that do occur (context words such as "TypeScript"), so that set keeps measuring products the
// lists do not know.
'use strict';
const fs = require('fs');
const input = process.argv[2] || 'tools/scan/tech_heldout.txt';
const out = process.argv[3] || 'test/data/scan/tech_heldout.jsonl';
const unlisted = process.argv.includes('--unlisted');
const prefixAt = process.argv.indexOf('--prefix');
const prefix = prefixAt > 0 ? process.argv[prefixAt + 1] : 'tech';
const known = new Set(require('./tech_terms.js').read().filter((t) => t.section !== 'human')
  .flatMap((t) => t.words));
const KIND = { P: 'PERSON', L: 'LOCATION' };
const rows = [];
for (const line of fs.readFileSync(input, 'utf8').split('\n')) {
  if (!line.trim() || line.startsWith('#')) continue;
  let text = '';
  const spans = [];
  let last = 0;
  const re = /\[([PL]):([^\]]+)\]/g;
  let m;
  while ((m = re.exec(line)) !== null) {
    text += line.slice(last, m.index);
    const start = Buffer.byteLength(text);
    text += m[2];
    spans.push({ start, end: Buffer.byteLength(text), label: KIND[m[1]] });
    last = m.index + m[0].length;
  }
  text += line.slice(last);
  if (/[\[\]]/.test(text.replace(/\[[^\]]*\]/g, ''))) throw new Error('bad markup: ' + line);
  if (unlisted) {
    const outside = line.replace(/\[[PL]:[^\]]+\]/g, ' ');
    const caps = [...outside.matchAll(/[A-Za-z]*[A-Z][A-Za-z]*/g)].map((m) => m[0]);
    const listed = caps.filter((w) => known.has(w.toLowerCase()));
    if (listed.length === caps.length) throw new Error(`no unlisted product in: ${line}`);
    if (listed.length) console.error(`listed: ${listed.join(' ')}`);
  }
  rows.push(JSON.stringify({ id: `${prefix}-${rows.length}`, text, spans }));
}
fs.writeFileSync(out, rows.join('\n') + '\n');
console.error(`wrote ${rows.length} texts to ${out}`);
