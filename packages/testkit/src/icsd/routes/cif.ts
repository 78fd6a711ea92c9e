import { writeZip } from '../../archives.js';
import type { IcsdSimEntry } from '../icsd-dataset.js';
import { encoder, endpoint, type IcsdRoutes, methodNotAllowed, respond, text } from '../state.js';

/** `"x.zip"` for `Content-Disposition`: printable ASCII only, no quotes or backslashes. */
function zipFilename(requested: string | null): string {
  const base = (requested ?? '').replace(/[^\x20-\x7e]|["\\]/g, '_').trim() || 'ICSD_export';
  return /\.zip$/i.test(base) ? base : `${base}.zip`;
}

/** `GET /cif/{id}` and `GET /cif/multiple` (concatenated or ZIP), within the session's quota. */
export const cifRoutes: IcsdRoutes = (sim, mount) => {
  const cifSingle = (request: Request, idText: string): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = sim.authenticate(request);
    if (session instanceof Response) return session;
    const params = new URL(request.url).searchParams;
    const cellType = sim.readCellType(params);
    if (cellType instanceof Response) return cellType;
    const entry = /^\d+$/.test(idText) ? sim.dataset.entryById(Number(idText)) : undefined;
    if (entry === undefined) return text(404, `Not Found: no entry with id ${idText.slice(0, 40)}`);
    const refused = sim.consumeQuota(session, 1);
    if (refused !== undefined) return refused;
    return respond(
      200,
      sim.renderEntry(entry, cellType, sim.isWindows(params)),
      'application/cif;charset=UTF-8',
    );
  };

  const cifMultiple = (request: Request): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = sim.authenticate(request);
    if (session instanceof Response) return session;
    const params = new URL(request.url).searchParams;
    const ids = sim.readIds(params);
    if (ids instanceof Response) return ids;
    if (ids.length === 0) return text(400, 'Bad Request: idnum is missing (name at least one entry)');
    const filetype = params.get('filetype') ?? 'cif';
    if (filetype !== 'cif' && filetype !== 'single' && filetype !== 'zip') {
      return text(400, `Bad Request: filetype must be cif or zip, got "${filetype.slice(0, 40)}"`);
    }
    const cellType = sim.readCellType(params);
    if (cellType instanceof Response) return cellType;
    const selected: IcsdSimEntry[] = [];
    for (const id of ids) {
      const entry = sim.dataset.entryById(id);
      if (entry === undefined) return text(500, 'Internal Server Error');
      selected.push(entry);
    }
    const refused = sim.consumeQuota(session, selected.length);
    if (refused !== undefined) return refused;
    const windows = sim.isWindows(params);
    if (filetype === 'zip') {
      const files = selected.map((entry) => ({
        name: `ICSD_CollCode${entry.collectionCode}.cif`,
        data: encoder.encode(sim.renderEntry(entry, cellType, windows)),
      }));
      return respond(200, writeZip(files, new Date(sim.now())), 'application/zip', [
        ['content-disposition', `attachment; filename="${zipFilename(params.get('filename'))}"`],
      ]);
    }
    let body = '';
    for (const entry of selected) body += sim.renderEntry(entry, cellType, windows);
    return respond(200, body, 'application/cif;charset=UTF-8');
  };

  return [
    // Before `/cif/:id`, which would match `multiple` too.
    endpoint(sim, mount, '/cif/multiple', 'cif/multiple', cifMultiple),
    endpoint(sim, mount, '/cif/:id', 'cif', cifSingle),
  ];
};
