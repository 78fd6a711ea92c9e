import { beforeAll, describe, expect, it } from 'vitest';
import { serve } from './icsd-serve.js';
import { createIcsdSimulator, type IcsdSimulator } from './icsd-simulator.js';
import { get, login, unzip } from './icsd-test-helpers.js';

describe('/cif', () => {
  let sim: IcsdSimulator;
  let base: string;
  let token: string;
  beforeAll(async () => {
    ({ sim, base } = await serve({ copyrightYear: 2031, cifsPerSession: null }));
    token = await login(base);
  });

  it('serves one CIF in the layout of the spec', async () => {
    const entry = sim.entries[12]!;
    const res = await get(
      base,
      `/cif/${entry.id}`,
      token,
      [
        ['celltype', 'experimental'],
        ['windowsclient', 'false'],
      ],
      {
        accept: 'application/cif',
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/cif;charset=UTF-8');
    const body = await res.text();
    expect(body).toBe(sim.cif(entry.id));
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    const lines = body.split('\n');
    expect(lines[0]).toBe('');
    expect(lines[1]).toBe(
      '#(C) 2031 by FIZ Karlsruhe - Leibniz Institute for Information Infrastructure.  All rights reserved.',
    );
    expect(lines[2]).toBe(`data_${entry.collectionCode}-ICSD`);
    expect(lines[3]).toBe(`_database_code_ICSD ${entry.collectionCode}`);
    expect(lines.at(-2)).toBe(`#End of TTdata_${entry.collectionCode}-ICSD`);
    expect(lines.at(-1)).toBe('');
    expect(body).not.toContain('\r');
    expect(body).toContain(`_chemical_formula_sum '${entry.sumFormula}'`);
    expect(body).toContain(`_cell_formula_units_Z ${entry.formulaUnitsPerCell}`);
  });

  it('uses the current UTC year by default', async () => {
    const plain = createIcsdSimulator({ entries: 3, now: () => Date.UTC(2027, 0, 1, 0, 0, 1) });
    expect(plain.cif(plain.entries[0]!.id).split('\n')[1]).toMatch(/^#\(C\) 2027 by FIZ Karlsruhe/);
  });

  it('uses CRLF for windowsclient=true', async () => {
    const entry = sim.entries[13]!;
    const body = await (await get(base, `/cif/${entry.id}`, token, [['windowsclient', 'TRUE']])).text();
    expect(body).toBe(sim.cif(entry.id, { windows: true }));
    expect(body.startsWith('\r\n#(C) ')).toBe(true);
    expect(body.endsWith(`#End of TTdata_${entry.collectionCode}-ICSD\r\n`)).toBe(true);
    expect(body.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('writes both tag dialects, wrapped loop rows, uncertainties and non-ASCII text', () => {
    const old = sim.entries.find((e) => e.cifDialect === 2018 && e.contentType === 'EXPERIMENTAL_INORGANIC')!;
    const modern = sim.entries.find(
      (e) => e.cifDialect === 2025 && e.contentType === 'EXPERIMENTAL_INORGANIC',
    )!;
    const a = sim.cif(old.id);
    expect(a).toMatch(/^_symmetry_space_group_name_H-M '.+'$/m);
    expect(a).toMatch(/^_symmetry_Int_Tables_number \d+$/m);
    expect(a).toMatch(/^_symmetry_equiv_pos_as_xyz$/m);
    expect(a).toMatch(/^_publ_author_name$/m);
    expect(a).toMatch(/^_publ_section_title/m);
    expect(a).toMatch(/^_cell_length_a \d+\.\d{4}\(\d\)$/m);
    const b = sim.cif(modern.id);
    expect(b).toMatch(/^_space_group_name_H-M_alt '.+'$/m);
    expect(b).toMatch(/^_space_group_IT_number \d+$/m);
    expect(b).toMatch(/^_space_group_symop_operation_xyz$/m);
    expect(b).toMatch(/^_citation_author_name$/m);
    expect(b).toContain(`_citation_title\n;\n${modern.title}\n;\n`);
    // The citation row is wrapped after the year.
    expect(b).toMatch(/^primary (?:'[^']+'|"[^"]+") \d{4}\n\d+ \S+ \S+ [A-Z0-9?]+(?: 10\.\S+)?$/m);
    const nonAscii = sim.entries.filter((e) => /[^\p{ASCII}]/u.test(sim.cif(e.id)));
    expect(nonAscii.length).toBeGreaterThan(sim.entries.length / 4);
    const quoted = sim.entries.find((e) => e.authors.includes("O'Keeffe, M."))!;
    expect(sim.cif(quoted.id)).toContain(`"O'Keeffe, M."`);
  });

  it('serves a slightly different standardised cell for celltype=standardized, 400 for other cell types', async () => {
    const entry = sim.entries.find((e) => e.crystalSystem === 'monoclinic')!;
    const res = await get(base, `/cif/${entry.id}`, token, [['celltype', 'standardized']]);
    const body = await res.text();
    expect(body).toBe(sim.cif(entry.id, { cellType: 'standardized' }));
    expect(body).not.toBe(sim.cif(entry.id));
    expect(body).toMatch(/^_cell_length_a \d+\.\d{5}$/m);
    for (const bad of ['standardised', 'reduced', 'EXPERIMENTAL']) {
      expect((await get(base, `/cif/${entry.id}`, token, [['celltype', bad]])).status).toBe(400);
    }
  });

  it('answers 404 for unknown ids, for a collection code used as an id, and for the /cif/0 probe', async () => {
    for (const id of ['0', String(sim.entries[0]!.collectionCode), '99999999', 'abc']) {
      const res = await get(base, `/cif/${id}`, token);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    }
  });

  it('concatenates the single documents exactly, in idnum order, for filetype cif and single', async () => {
    const entries = [sim.entries[30]!, sim.entries[3]!, sim.entries[77]!];
    const ids = entries.map((e) => ['idnum', String(e.id)] as [string, string]);
    for (const filetype of ['cif', 'single']) {
      const res = await get(base, '/cif/multiple', token, [
        ...ids,
        ['celltype', 'experimental'],
        ['filetype', filetype],
      ]);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/cif;charset=UTF-8');
      const body = await res.text();
      expect(body).toBe(entries.map((e) => sim.cif(e.id)).join(''));
      expect(body).toContain(
        `#End of TTdata_${entries[0]!.collectionCode}-ICSD\n\n#(C) 2031 by FIZ Karlsruhe`,
      );
    }
    const crlf = await get(base, '/cif/multiple', token, [
      ...ids,
      ['windowsclient', 'true'],
      ['celltype', 'standardized'],
    ]);
    expect(await crlf.text()).toBe(
      entries.map((e) => sim.cif(e.id, { windows: true, cellType: 'standardized' })).join(''),
    );
  });

  it('fails the whole batch with 500 when one id is unknown', async () => {
    const before = sim.stats.cifsServed;
    const res = await get(base, '/cif/multiple', token, [
      ['idnum', String(sim.entries[0]!.id)],
      ['idnum', '7'],
      ['filetype', 'cif'],
    ]);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('Internal Server Error');
    expect(sim.stats.cifsServed).toBe(before);
  });

  it('answers 400 for a bad idnum, no idnum, a bad filetype, and more than 500 ids', async () => {
    const id = String(sim.entries[0]!.id);
    expect((await get(base, '/cif/multiple', token, [['idnum', `${id},${id}`]])).status).toBe(400);
    expect((await get(base, '/cif/multiple', token, [['idnum', ` ${id}`]])).status).toBe(400);
    expect((await get(base, '/cif/multiple', token, [['idnum', '-3']])).status).toBe(400);
    expect((await get(base, '/cif/multiple', token, [['filetype', 'cif']])).status).toBe(400);
    expect(
      (
        await get(base, '/cif/multiple', token, [
          ['idnum', id],
          ['filetype', 'tar'],
        ])
      ).status,
    ).toBe(400);
    const ids = Array.from(
      { length: 501 },
      (_, i) => ['idnum', String(sim.entries[i % 400]!.id)] as [string, string],
    );
    const res = await get(base, '/cif/multiple', token, ids);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/501/);
  });

  it('serves a ZIP with one ICSD_CollCode<cc>.cif per entry and a Content-Disposition', async () => {
    const entries = [sim.entries[8]!, sim.entries[9]!, sim.entries[150]!];
    const ids = entries.map((e) => ['idnum', String(e.id)] as [string, string]);
    const res = await get(
      base,
      '/cif/multiple',
      token,
      [...ids, ['filetype', 'zip'], ['filename', 'my export']],
      {
        accept: 'application/cif',
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="my export.zip"');
    const archive = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-length')).toBe(String(archive.length));
    const files = unzip(archive);
    expect(files.map((f) => f.name)).toEqual(entries.map((e) => `ICSD_CollCode${e.collectionCode}.cif`));
    expect(files.map((f) => f.data.toString('utf8'))).toEqual(entries.map((e) => sim.cif(e.id)));
    expect(files.some((f) => f.method === 8)).toBe(true);

    const unnamed = await get(base, '/cif/multiple', token, [...ids.slice(0, 1), ['filetype', 'zip']]);
    expect(unnamed.headers.get('content-disposition')).toBe('attachment; filename="ICSD_export.zip"');
    expect(unzip(Buffer.from(await unnamed.arrayBuffer()))).toHaveLength(1);
  });

  it('does not serve /reference/{idnum} (404, token or not)', async () => {
    const entry = sim.entries[4]!;
    expect((await get(base, `/reference/${entry.id}`, token)).status).toBe(404);
    expect((await get(base, `/reference/${entry.id}`, undefined)).status).toBe(404);
    expect((await get(base, '/reference/1', token)).status).toBe(404);
  });
});

describe('over-limit truncate mode', () => {
  it('serves only the first maxIds ids without saying so', async () => {
    const { sim, base } = await serve({
      overLimit: 'truncate',
      maxIds: 500,
      entries: 700,
      cifsPerSession: null,
    });
    const token = await login(base);
    const ids = sim.entries.slice(0, 620).map((e) => ['idnum', String(e.id)] as [string, string]);
    const res = await get(base, '/cif/multiple', token, ids);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body.match(/^#End of TTdata_/gm)).toHaveLength(500);
    expect(body).toBe(
      sim.entries
        .slice(0, 500)
        .map((e) => sim.cif(e.id))
        .join(''),
    );
    const csv = await get(base, '/csv', token, [...ids, ['listSelection', 'CollectionCode']]);
    expect((await csv.text()).split('\n')).toHaveLength(502);
    expect(sim.stats.cifsServed).toBe(500);
  });
});

describe('per-session CIF quota', () => {
  it('refuses with 403 a request that would exceed the quota, counting nothing; a new login gives a fresh quota', async () => {
    const { sim, base } = await serve({ cifsPerSession: 5 });
    const token = await login(base);
    const ids = sim.entries.slice(0, 6).map((e) => ['idnum', String(e.id)] as [string, string]);
    expect((await get(base, '/cif/multiple', token, ids.slice(0, 4))).status).toBe(200);
    // Searches and CSV do not count.
    await get(base, '/search/expert', token, [['query', 'COLLECTIONCODE : 1-100']]);
    await get(base, '/csv', token, [...ids, ['listSelection', 'Title']]);
    const refused = await get(base, '/cif/multiple', token, ids.slice(0, 2));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(sim.stats).toMatchObject({ cifsServed: 4, quotaRefusals: 1 });
    expect((await get(base, `/cif/${sim.entries[5]!.id}`, token)).status).toBe(200);
    expect((await get(base, `/cif/${sim.entries[5]!.id}`, token)).status).toBe(403);
    expect(
      (await get(base, '/cif/multiple', token, ids.slice(0, 1), { accept: 'application/cif' })).status,
    ).toBe(403);
    // A 404 costs nothing and still answers 404.
    expect((await get(base, '/cif/0', token)).status).toBe(404);
    expect(sim.stats).toMatchObject({ cifsServed: 5, quotaRefusals: 3 });

    const fresh = await login(base);
    expect(
      (await get(base, '/cif/multiple', fresh, ids.slice(0, 5), { accept: 'application/cif' })).status,
    ).toBe(200);
    expect((await get(base, '/cif/multiple', token, ids.slice(0, 1))).status).toBe(403);
    expect(sim.stats.cifsServed).toBe(10);
  });
});
