#!/usr/bin/env node
// Prints the NRP word list (nationalities, religions, political groups) as
// the lower-case regex alternation used by the NRP recognizer in
// src/scan/recognizers.cc. Sources:
//   - i18n-nationality 1.4 (MIT): English demonyms of 246 countries and
//     territories; entries that are place names (territories listed by name,
//     "... Islands") or contain punctuation are left out;
//   - countries-list 3 (MIT): country names, so that no place name becomes
//     an NRP word;
//   - the hand-written list below: demonyms the package lacks (English,
//     Scottish, Chechen, Tibetan, ...), ethnic groups, religions and
//     political groups.
// Development-time only (the runtime compiles the regex in the source):
//   npm install i18n-nationality@1 countries-list@3   (e.g. into BUILD/tools-node)
//   NODE_PATH=BUILD/tools-node/node_modules node tools/scan/gen_nrp.js
'use strict';
const nationality = require('i18n-nationality');
const { countries } = require('countries-list');

nationality.registerLocale(require('i18n-nationality/langs/en.json'));

const HAND = [
  // demonyms and groups not in i18n-nationality
  'english', 'scottish', 'irish', 'welsh', 'british', 'argentine', 'argentinian', 'chechen',
  'greenlander', 'surinamese', 'surinameses', 'luxembourgish', 'kazakh', 'uzbek', 'tibetan',
  'slovak', 'korean', 'new zealander', 'belarusian', 'bosnian', 'herzegovinian', 'palestinian',
  'kurdish', 'kurd', 'basque', 'catalan', 'flemish', 'walloon', 'romani', 'maori',
  'hispanic', 'latino', 'latina', 'arab', 'african american', 'asian', 'caucasian',
  // religions
  'jewish', 'jew', 'muslim', 'christian', 'catholic', 'protestant', 'orthodox', 'hindu',
  'buddhist', 'sikh', 'atheist', 'agnostic', 'mormon', 'evangelical', 'baptist', 'lutheran',
  'methodist', 'anglican', 'shia', 'sunni',
  // political groups
  'democrat', 'democratic party', 'republican', 'republican party', 'socialist', 'communist',
  'conservative', 'liberal', 'libertarian', 'labour party', 'tory', 'green party',
];

const places = new Set(Object.values(countries).map((c) => c.name.toLowerCase()));
// Territories the package lists by their place name.
const NOT_DEMONYMS = new Set(['pitcairn']);
const words = new Set(HAND);
for (const raw of Object.values(nationality.getNames('en'))) {
  const name = raw.toLowerCase().trim();
  if (/[^a-z ]/.test(name)) continue;  // "Bosnian - Herzegovinian", "(French Guiana)", "I-Kiribati"
  if (places.has(name) || NOT_DEMONYMS.has(name) || /\b(islands?|territory|republic)\b/.test(name))
    continue;
  if (name.split(' ').length > 2) continue;
  words.add(name);
}
// Longest first, so an alternation prefers "south african" over "african".
const list = [...words].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
process.stdout.write(list.join('|') + '\n');
console.error(`${list.length} NRP words`);
