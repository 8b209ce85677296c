// npm baselines for make bench-scan: redact-pii and @openredaction/openredaction
// on the same ~0.8 KB paragraphs scan_bench wrote (one per line). Each
// library gets a time budget; MB/s = bytes processed / CPU seconds. Also
// times one 5 MB input with a hard budget (both libraries stall on it).
//   node baseline.js CORPUS.txt BUDGET_SECONDS
'use strict';
const fs = require('fs');
const corpus = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
const budget = parseFloat(process.argv[3] || '20');

function cpu() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }

async function run(name, fn) {
  let bytes = 0, n = 0;
  const c0 = cpu(), t0 = Date.now();
  for (const p of corpus) {
    await fn(p);
    bytes += Buffer.byteLength(p);
    ++n;
    if ((Date.now() - t0) / 1000 > budget) break;
  }
  const sec = cpu() - c0;
  return { name, paragraphs: n, bytes, cpu_seconds: +sec.toFixed(3), mbps: +(bytes / 1e6 / sec).toFixed(3) };
}

(async () => {
  const out = {};
  try {
    const { SyncRedactor } = require('redact-pii');
    const r = new SyncRedactor();
    out.redact_pii = await run('redact-pii', (p) => r.redact(p));
  } catch (e) { out.redact_pii = { error: String(e).slice(0, 200) }; }
  try {
    const { OpenRedaction } = require('@openredaction/openredaction');
    const o = new OpenRedaction();
    out.openredaction = await run('openredaction', (p) => o.detect(p));
  } catch (e) { out.openredaction = { error: String(e).slice(0, 200) }; }
  process.stdout.write(JSON.stringify(out) + '\n');
})();
