#!/usr/bin/env node
// Turns tools/scan/tech_heldout.txt ([P:..] PERSON, [L:..] LOCATION markup, # comments) into
// test/data/scan/tech_heldout.jsonl, in eval.jsonl's shape (UTF-8 byte offsets, end exclusive).
//   node tools/scan/gen_tech_heldout.js [IN] [OUT]
'use strict';
const fs = require('fs');
const input = process.argv[2] || 'tools/scan/tech_heldout.txt';
const out = process.argv[3] || 'test/data/scan/tech_heldout.jsonl';
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
  rows.push(JSON.stringify({ id: `tech-${rows.length}`, text, spans }));
}
fs.writeFileSync(out, rows.join('\n') + '\n');
console.error(`wrote ${rows.length} texts to ${out}`);
