import { referenceOf } from '../icsd-dataset.js';
import { endpoint, type IcsdRoutes, methodNotAllowed, text } from '../state.js';

/** `GET /reference/{id}`: the bibliographic reference of an entry. */
export const referenceRoutes: IcsdRoutes = (sim, mount) => {
  const reference = (request: Request, idText: string): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = sim.authenticate(request);
    if (session instanceof Response) return session;
    const entry = /^\d+$/.test(idText) ? sim.dataset.entryById(Number(idText)) : undefined;
    if (entry === undefined) return text(404, `Not Found: no entry with id ${idText.slice(0, 40)}`);
    return text(200, referenceOf(entry));
  };

  return [endpoint(sim, mount, '/reference/:id', 'reference', reference)];
};
