import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { connect, dir, QUICK, useConformanceStack } from './harness.js';

/** Conformance: uploads, sync, observations, SMILES and compound sets (spec §4.8, §4.10, §4.11, §4.13). */

useConformanceStack();

describe('uploads, observations, SMILES, compound sets (spec §4.8, §4.10, §4.11, §4.13)', () => {
  it('reports upload statistics per (title, TAS): last index and its time, over every page', async () => {
    const { client } = connect({ maxLimit: 2 });
    const stats = await client.uploads.list().toArray();
    const byKey = new Map(stats.map((s) => [`${s.targetName}@${s.tas}`, s]));
    expect([...byKey.keys()].sort()).toEqual(['A71EV2A@lb32627-66', 'Mpro@lb18145-1', 'Mpro@sw30864-12']);
    const a71 = byKey.get('A71EV2A@lb32627-66');
    expect(a71?.lastUploadIndex).toBe(3);
    expect(a71?.lastUploadTimestamp.toISOString()).toBe('2025-09-09T09:09:09.999Z');
    expect(a71?.uploads.map((u) => u.uploadIndex)).toEqual([1, 2, 3]);
    expect(a71?.targetId).toBe(103);
    expect(a71?.projectId).toBe(13);
    expect(a71?.uploads[0]?.dataFormat).toBe('3.0');
    expect(byKey.get('Mpro@lb18145-1')?.lastUploadIndex).toBe(2);
    expect(byKey.get('Mpro@sw30864-12')?.lastUploadIndex).toBe(1);
  });

  it('syncs only targets with a newer upload (index or time), also when only the unpacked copy is kept', async () => {
    const { stack, client } = connect({ maxLimit: 2 });
    const targets = [
      { title: 'Mpro', tas: 'lb18145-1' },
      { title: 'A71EV2A', tas: 'lb32627-66' },
    ];
    const options = { ...QUICK, extract: true, keepArchive: false };
    const first = await client.archives.sync(targets, dir, options);
    expect(first.map((r) => r.status)).toEqual(['downloaded', 'downloaded']);
    // Each extracted copy with its completeness report beside it (spec §11.1).
    expect((await readdir(dir)).sort()).toEqual([
      '.sciport-fragalysis.json',
      'A71EV2A_lb32627-66',
      'A71EV2A_lb32627-66.report.json',
      'Mpro_lb18145-1',
      'Mpro_lb18145-1.report.json',
    ]);
    const posts = stack.posts.length;
    const second = await client.archives.sync(targets, dir, options);
    expect(second.map((r) => r.status)).toEqual(['up-to-date', 'up-to-date']);
    expect(stack.posts.length).toBe(posts);

    // A new upload of one target; a re-upload of the other under the same index, later.
    stack.targets[0]?.uploads.push({ version: 3, at: '2026-01-01T00:00:00.000001Z' });
    const a71 = stack.targets.find((t) => t.id === 103);
    const last = a71?.uploads.find((u) => u.version === 3);
    if (last) last.at = '2026-02-02T00:00:00Z';
    const third = await client.archives.sync(targets, dir, options);
    expect(third.map((r) => r.status)).toEqual(['downloaded', 'downloaded']);
    expect(third.map((r) => r.lastUploadIndex)).toEqual([3, 3]);
  });

  it('collects SMILES per exact (title, TAS), over paged observations, skipping nulls', async () => {
    const { stack, client } = connect({ maxLimit: 2 });
    expect((await client.observations.smiles('Mpro', 'lb18145-1').toArray()).sort()).toEqual([
      'CCO',
      'c1ccccc1',
    ]);
    expect((await client.observations.smiles('Mpro', 'sw30864-12').toArray()).sort()).toEqual([
      'CN',
      'OCC(=O)O',
    ]);
    const observed = stack.log.filter((r) => r.url.pathname === '/api/site_observations/');
    expect(new Set(observed.map((r) => r.url.searchParams.get('target')))).toEqual(new Set(['101', '102']));
    const codes: string[] = [];
    for await (const o of client.observations.list('Mpro', 'lb18145-1')) codes.push(o.code);
    expect(codes).toEqual(['A0001a', 'A0002a', 'A0003a', 'A0004a', 'A0005a']);
  });

  it('lists compound sets read-only, tolerating extra fields', async () => {
    const { stack, client } = connect();
    const sets = await client.compoundSets.list({ target: 102 }).toArray();
    expect(sets.map((s) => s.name)).toEqual(['Mpro-sw30864-12-set']);
    expect(sets[0]?.id).toBe(1020);
    expect(stack.log.every((r) => r.method === 'GET')).toBe(true);
  });
});
