// Reads tools/scan/tech_terms.txt (training time only; see the file's header):
// "# comment", "@section", "Display Name [=name] [=place]".
'use strict';
const fs = require('fs');
const path = require('path');

function read(file = path.join(__dirname, 'tech_terms.txt')) {
  const terms = [];
  let section = null;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('@')) { section = line.slice(1); continue; }
    if (!section) throw new Error(`${file}: entry before any @section: ${line}`);
    const flags = line.match(/(\s=\w+)+$/);
    const display = flags ? line.slice(0, flags.index).trim() : line;
    const words = display.normalize('NFC').toLowerCase().split(/[^\p{L}\p{N}]+/u)
      .filter((w) => w.length >= 2);
    terms.push({ display, section, words, keepName: /=name\b/.test(line),
                 keepPlace: /=place\b/.test(line) });
  }
  return terms;
}
module.exports = { read };
