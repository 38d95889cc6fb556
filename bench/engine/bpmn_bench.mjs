// The peer of `bench/run engine`: runs three-step.bpmn N times on bpmn-engine, one instance
// after another, each user task signalled by this driver as soon as it waits. The BPMN is
// parsed once and the serialized context shared by every instance (bpmn-engine's fastest path);
// bpmn-engine keeps its state in memory only. Prints one JSON line.
//   node bpmn_bench.mjs N
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';

import * as elements from 'bpmn-elements';
import { Engine } from 'bpmn-engine';
import BpmnModdle from 'bpmn-moddle';
import serializer, { TypeResolver } from 'moddle-context-serializer';

const n = Number(process.argv[2] || 2000);
const source = readFileSync(new URL('./three-step.bpmn', import.meta.url), 'utf8');
const moddleContext = await new BpmnModdle().fromXML(source);
const sourceContext = serializer(moddleContext, TypeResolver(elements));

let recorded = 0;
const services = {
  record(executionContext, callback) {
    recorded += 1;
    callback(null, { stage: executionContext.content.id });
  },
};

function runOne(i) {
  return new Promise((resolve, reject) => {
    const listener = new EventEmitter();
    listener.on('wait', (api) => api.signal({ confirmed: true }));
    const engine = new Engine({ name: `three-step-${i}`, sourceContext, services });
    engine.once('end', () => resolve());
    engine.once('error', reject);
    engine.execute({ listener, variables: { reference: 'bench' } }, (err) => {
      if (err) reject(err);
    });
  });
}

for (let i = 0; i < Math.min(200, n); i += 1) await runOne(i);  // warm-up
recorded = 0;
const started = process.hrtime.bigint();
for (let i = 0; i < n; i += 1) await runOne(i);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
if (recorded !== 2 * n) throw new Error(`expected ${2 * n} service calls, saw ${recorded}`);
console.log(JSON.stringify({ engine: 'bpmn-engine', instances: n, seconds, instances_per_s: n / seconds }));
