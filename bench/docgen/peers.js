// Renders one benchmark case with one peer engine and prints one JSON line of figures.
//   node peers.js ENGINE TEMPLATE DATA.json ITERATIONS MIN_SECONDS [OUT]
// ENGINE: docxtemplater (with pizzip) or carbone. Each render starts from the template's bytes
// (docxtemplater) or path (Carbone), as each engine's documentation shows.
'use strict';
const fs = require('fs');
const path = require('path');

const [engine, templatePath, dataPath, iterationsArg, minSecondsArg, outPath] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(dataPath, 'utf8'));
const template = fs.readFileSync(templatePath);
const iterations = Number(iterationsArg);
const minSeconds = Number(minSecondsArg);

function makeDocxtemplater() {
  const PizZip = require('pizzip');
  const Docxtemplater = require('docxtemplater');
  return async () => {
    const doc = new Docxtemplater(new PizZip(template), {
      paragraphLoop: true, linebreaks: true, delimiters: {start: '{{', end: '}}'},
    });
    doc.render(data);
    return doc.getZip().generate({type: 'nodebuffer', compression: 'DEFLATE'});
  };
}

function makeCarbone() {
  const carbone = require('carbone');
  const absolute = path.resolve(templatePath);
  return () => new Promise((resolve, reject) => {
    carbone.render(absolute, data, {}, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function main() {
  const render = engine === 'carbone' ? makeCarbone() : makeDocxtemplater();
  const times = [];
  let bytes = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations || (Number(process.hrtime.bigint() - started) / 1e9 < minSeconds && i < 100000); ++i) {
    const t0 = process.hrtime.bigint();
    const out = await render();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    bytes = out.length;
    if (i === 0 && outPath) fs.writeFileSync(outPath, out);
    if (Number(process.hrtime.bigint() - started) / 1e9 > 120) break;  // a slow peer: enough samples
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(JSON.stringify({
    engine, iterations: times.length, median_ms: +median.toFixed(3),
    docs_per_sec: +(1000 / median).toFixed(2), output_bytes: bytes,
    peak_rss_kb: process.resourceUsage().maxRSS,
  }));
}

main().catch((e) => { console.error(`${engine}: ${e.stack || e}`); process.exit(1); });
