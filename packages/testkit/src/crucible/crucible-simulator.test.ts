import { describe, expect, it } from 'vitest';
import { createCrucibleSimulator } from './crucible-simulator.js';
import { newDataset, serve } from './crucible-test-helpers.js';

describe('Crucible simulator: helpers', () => {
  it('reset() restores the seeded state with the same keys and zeroed counters', async () => {
    const { sim, v2 } = await serve();
    const key = sim.keyFor('demo');
    const count = sim.datasets.length;
    await newDataset(v2());
    expect(sim.datasets.length).toBe(count + 1);
    sim.reset();
    expect(sim.datasets.length).toBe(count);
    expect(sim.keyFor('demo')).toBe(key);
    expect(sim.stats.requests).toBe(0);
    expect((await v2().get('account')).status).toBe(200);
  });

  it('is deterministic per seed', () => {
    const a = createCrucibleSimulator({ seed: 9, datasets: 5 });
    const b = createCrucibleSimulator({ seed: 9, datasets: 5 });
    const c = createCrucibleSimulator({ seed: 10, datasets: 5 });
    expect(a.datasets.map((d) => d.uniqueId)).toEqual(b.datasets.map((d) => d.uniqueId));
    expect(a.keyFor('admin')).toBe(b.keyFor('admin'));
    expect(a.keyFor('admin')).not.toBe(c.keyFor('admin'));
    expect(() => a.keyFor('nobody')).toThrow(RangeError);
  });
});
