// Writes the CIF corpus of the structure benchmark into a folder, as a mirror names them (icsd_<code>.cif).
// Args: dir count source(simulator|fixtures) seed
// Prints one JSON line: { files, bytes, ms }.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cifFileName } from '../../packages/icsd/dist/index.js';
import { createIcsdSimulator } from '../../packages/testkit/dist/index.js';

const [dir, countText, source = 'simulator', seedText = '12'] = process.argv.slice(2);
const count = Number(countText);
const started = performance.now();
mkdirSync(dir, { recursive: true });
let bytes = 0;
if (source === 'fixtures') {
  // The parser's fixture CIFs (real prototypes), renumbered: for runs where the simulator's CIFs do not parse.
  const fixtures = new URL('../../packages/icsd/test/fixtures/cif/', import.meta.url);
  const texts = readdirSync(fixtures).map((f) => readFileSync(new URL(f, fixtures), 'utf8'));
  for (let i = 0; i < count; i++) {
    const code = i + 1;
    const text = texts[i % texts.length]
      .replace(/data_\d+-ICSD/, `data_${code}-ICSD`)
      .replace(/_database_code_ICSD \d+/, `_database_code_ICSD ${code}`)
      .replace(/#End of TTdata_\d+-ICSD/, `#End of TTdata_${code}-ICSD`);
    writeFileSync(path.join(dir, cifFileName(code)), text);
    bytes += text.length;
  }
} else {
  const sim = createIcsdSimulator({ entries: count, seed: Number(seedText) });
  for (const entry of sim.entries) {
    const text = sim.cif(entry.id);
    writeFileSync(path.join(dir, cifFileName(entry.collectionCode)), text);
    bytes += text.length;
  }
}
console.log(JSON.stringify({ files: count, bytes, ms: performance.now() - started }));
