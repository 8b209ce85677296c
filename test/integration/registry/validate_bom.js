// Validates a CycloneDX 1.6 JSON BOM against the official schema shipped by
// @cyclonedx/cyclonedx-library (res/schema/, with the spdx and jsf schemas it
// references), using ajv. Usage: node validate_bom.js NODE_PREFIX BOM.json
// Exit 0 valid, 1 invalid (errors on stderr), 2 setup problem.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const [prefix, bomPath] = process.argv.slice(2);
if (!prefix || !bomPath) {
  console.error('usage: validate_bom.js NODE_PREFIX BOM.json');
  process.exit(2);
}
const req = createRequire(path.join(path.resolve(prefix), 'package.json'));
const Ajv = req('ajv');
const addFormats = req('ajv-formats');
const addFormats2019 = req('ajv-formats-draft2019');
const schemaDir = path.join(
  path.dirname(req.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
const load = (name) => JSON.parse(fs.readFileSync(path.join(schemaDir, name), 'utf8'));

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
addFormats2019(ajv, { formats: ['idn-email', 'iri', 'iri-reference', 'idn-hostname'] });
// The bom schema refers to its companions by their SNAPSHOT file names.
for (const name of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
  const schema = load(name);
  schema.$id = 'http://cyclonedx.org/schema/' + name;
  ajv.addSchema(schema);
}
const validate = ajv.compile(load('bom-1.6.SNAPSHOT.schema.json'));
const bom = JSON.parse(fs.readFileSync(bomPath, 'utf8'));
if (validate(bom)) {
  console.log('valid CycloneDX 1.6');
  process.exit(0);
}
console.error(JSON.stringify(validate.errors, null, 1));
process.exit(1);
