import { endpoint, type IcsdRoutes, methodNotAllowed, text } from '../state.js';

/** `GET /reference/{id}`: not served (spec Appendix A), so always 404, token or not. */
export const referenceRoutes: IcsdRoutes = (sim, mount) => {
  const reference = (request: Request, idText: string): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    return text(404, `Not Found: /reference/${idText.slice(0, 40)} is not served`);
  };

  return [endpoint(sim, mount, '/reference/:id', 'reference', reference)];
};
