import { HttpResponse } from 'msw';
import { exactPath, getOrHead, route, underPrefix } from '../../routes.js';
import type { CrucibleRoutes } from '../state.js';
import { xmlError } from '../util.js';

const RESUMABLE = '/upload/storage/v1/b/crucible-uploads/o';

/**
 * The storage host (a Google-Cloud-Storage look-alike) on the storage mount: resumable upload sessions
 * (`PUT`/`POST` chunks and probes, `DELETE` cancels) and signed downloads (`GET`/`HEAD` with `Range`). A request
 * with an `Authorization` header is refused (400) whatever it asks, as GCS does beside a signature or session.
 */
export const storageRoutes: CrucibleRoutes = (sim, mount) => {
  if (mount.api !== 'storage') return [];
  const { prefix } = mount;
  return [
    route('*', underPrefix(prefix), ({ request }) => {
      sim.stats.requests += 1;
      sim.settleAll();
      sim.stats.storageRequests += 1;
      if (request.headers.has('authorization')) {
        sim.stats.storageAuthorizationHeaders += 1;
        return xmlError(
          400,
          'InvalidAuthentication',
          'Cannot use multiple authentication methods: the request carries both a signature or session and an Authorization header.',
        );
      }
      return undefined;
    }),
    route('*', exactPath(prefix, RESUMABLE), ({ request }) => {
      const url = new URL(request.url);
      const method = request.method.toUpperCase();
      const session = sim.db.sessions.get(url.searchParams.get('upload_id') ?? '');
      if (!session || session.state === 'expired') {
        return xmlError(404, 'NoSuchUpload', 'The requested upload session does not exist or has expired.');
      }
      if (session.state === 'cancelled') return xmlError(410, 'Gone', 'The upload session was cancelled.');
      if (method === 'DELETE') {
        session.state = 'cancelled';
        void session.writer.discard();
        return new HttpResponse(null, { status: 499, headers: { 'content-length': '0' } });
      }
      if (method !== 'PUT' && method !== 'POST')
        return xmlError(405, 'MethodNotAllowed', `${method} not allowed.`);
      const run = session.lock.then(() => sim.resumablePut(request, session));
      session.lock = run.catch(() => undefined);
      return run;
    }),
    getOrHead(underPrefix(prefix), ({ request }) => {
      const url = new URL(request.url);
      let objectPath: string;
      try {
        objectPath = url.pathname
          .slice(prefix.length)
          .split('/')
          .filter(Boolean)
          .map(decodeURIComponent)
          .join('/');
      } catch {
        return xmlError(400, 'InvalidURI', 'Could not parse the specified URI.');
      }
      return sim.download(request, url, objectPath);
    }),
    route('*', underPrefix(prefix), ({ request }) =>
      xmlError(405, 'MethodNotAllowed', `${request.method.toUpperCase()} not allowed.`),
    ),
  ];
};
