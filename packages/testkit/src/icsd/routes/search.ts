import { ICSD_CONTENT_TYPE_ALIASES, ICSD_CONTENT_TYPES, type IcsdContentType } from '../icsd-constants.js';
import {
  compileExpertQuery,
  compileSimpleQuery,
  type EntryPredicate,
  IcsdQueryError,
} from '../icsd-search.js';
import { endpoint, type IcsdRoutes, methodNotAllowed, respond, text } from '../state.js';

/** `GET /search/simple` and `GET /search/expert`: the ids of the matching entries, XML or JSON. */
export const searchRoutes: IcsdRoutes = (sim, mount) => {
  const search = (request: Request, compile: (query: string) => EntryPredicate): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = sim.authenticate(request);
    if (session instanceof Response) return session;
    const params = new URL(request.url).searchParams;
    const query = params.get('query');
    if (query === null || query.trim() === '')
      return text(400, 'Bad Request: the query parameter is missing');
    const requestedType = params.get('content type');
    let contentType: IcsdContentType | undefined;
    if (requestedType !== null) {
      const value = requestedType.trim();
      contentType = (ICSD_CONTENT_TYPES as readonly string[]).includes(value)
        ? (value as IcsdContentType)
        : ICSD_CONTENT_TYPE_ALIASES[value];
      if (contentType === undefined) {
        return text(
          400,
          `Bad Request: unknown content type "${value.slice(0, 40)}"; expected one of ${ICSD_CONTENT_TYPES.join(', ')}`,
        );
      }
    }
    let predicate: EntryPredicate;
    try {
      predicate = compile(query);
    } catch (error) {
      if (error instanceof IcsdQueryError) return text(400, `Bad Request: ${error.message}`);
      throw error;
    }
    const ids: string[] = [];
    for (const entry of sim.entries) {
      if (contentType !== undefined && entry.contentType !== contentType) continue;
      if (predicate(entry)) ids.push(String(entry.id));
    }
    const accept = (request.headers.get('accept') ?? '').toLowerCase();
    if (accept.includes('application/json')) {
      return respond(200, JSON.stringify({ idnums: ids }), 'application/json');
    }
    return respond(
      200,
      `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hits><idnums>${ids.join(' ')}</idnums></hits>`,
      'application/xml',
    );
  };

  return [
    endpoint(sim, mount, '/search/simple', 'search/simple', (request) => search(request, compileSimpleQuery)),
    endpoint(sim, mount, '/search/expert', 'search/expert', (request) => search(request, compileExpertQuery)),
  ];
};
