import { createIcsdSimulator } from '@sciport/testkit';
import { describe, expect, it } from 'vitest';
import { CifStructureError, parseCif } from '../src/browser.js';

/** Element → count per formula unit, from a sum formula such as `Fe1 Li1 O2` (D and T count as H). */
function formulaCounts(formula: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of formula.trim().split(/\s+/)) {
    const m = /^([A-Z][a-z]?)([\d.]*)$/.exec(part);
    if (m === null) throw new Error(`bad sum formula ${formula}`);
    const element = m[1] === 'D' || m[1] === 'T' ? 'H' : m[1]!;
    out.set(element, (out.get(element) ?? 0) + (m[2] === '' ? 1 : Number(m[2])));
  }
  return out;
}

describe('parseCif on every entry of the simulator', () => {
  it('parses 2,000 simulated CIFs without an error; each cell holds Z × the sum formula', () => {
    const sim = createIcsdSimulator({ seed: 12, entries: 2000 });
    const failures: string[] = [];
    let disordered = 0;
    for (const entry of sim.entries) {
      const text = sim.cif(entry.id);
      try {
        const s = parseCif(text);
        expect(s.collectionCode).toBe(entry.collectionCode);
        expect(s.formulaSum).toBe(entry.sumFormula);
        expect(s.operations.length).toBeGreaterThanOrEqual(1);
        expect(s.z).not.toBeNull();
        const have = new Map<string, number>();
        for (const atom of s.atoms) have.set(atom.element, (have.get(atom.element) ?? 0) + atom.occupancy);
        for (const [element, count] of formulaCounts(entry.sumFormula)) {
          expect(have.get(element) ?? 0, `${entry.collectionCode} ${element}`).toBeCloseTo(s.z! * count, 1);
        }
        for (const site of s.sites) {
          const images = s.atoms.filter((a) => s.sites[a.site] === site).length;
          if (site.multiplicity !== null) expect(images).toBe(site.multiplicity);
        }
        if (s.disordered) disordered++;
      } catch (error) {
        if (!CifStructureError.isInstance(error)) throw error;
        failures.push(`${entry.collectionCode}: ${(error as Error).message}`);
      }
    }
    expect(failures.slice(0, 10), `${failures.length} of ${sim.entries.length} refused`).toEqual([]);
    // The simulator serves some structures with partial occupancy.
    expect(disordered).toBeGreaterThan(0);
  });
});
