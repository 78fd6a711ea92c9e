import { HttpResponse } from 'msw';
import { text } from '../../archives.js';
import { escapeRegExp, route } from '../../routes.js';
import { FRAGALYSIS_PATHS, type FragalysisRoutes, html, json, parseCookies } from '../state.js';

/** Counts every request (and those with a `sessionid` cookie), then lets it through. */
export const requestCounter: FragalysisRoutes = (sim) => [
  route('*', FRAGALYSIS_PATHS, ({ request }) => {
    sim.stats.requests += 1;
    if (sim.identify(request).sid) sim.stats.authenticatedRequests += 1;
    return undefined;
  }),
];

/** Upload tarballs under `/media/target_loader_data/`: served before APPEND_SLASH, whatever the method. */
export const mediaRoutes: FragalysisRoutes = (_sim, mount) => [
  route(
    '*',
    new RegExp(`^[a-z]+://[^/]+${escapeRegExp(mount.prefix)}/media/target_loader_data/`),
    ({ request }) => {
      const path = new URL(request.url).pathname;
      const body = text(`tarball ${path}\n`);
      return new HttpResponse(body, {
        headers: {
          'content-type': 'application/x-pilot',
          'content-disposition': `attachment;filename=${path}`,
          'content-length': String(body.byteLength),
        },
      });
    },
  ),
];

/**
 * Django's middleware before the views: APPEND_SLASH (a 301 to the path with the slash, query kept), stale OIDC
 * sessions (authenticated GETs redirected to Keycloak, or 403 for XHR) and CSRF on authenticated writes.
 */
export const djangoMiddleware: FragalysisRoutes = (sim) => {
  function csrfFailure(request: Request): Response | undefined {
    const cookie = parseCookies(request.headers.get('cookie')).get('csrftoken');
    if (!cookie) return json({ detail: 'CSRF Failed: CSRF cookie not set.' }, 403);
    const header = request.headers.get('x-csrftoken');
    if (!header) return json({ detail: 'CSRF Failed: CSRF token missing.' }, 403);
    if (header !== cookie || cookie !== sim.csrf)
      return json({ detail: 'CSRF Failed: CSRF token incorrect.' }, 403);
    const origin = new URL(request.url).origin;
    for (const h of ['origin', 'referer']) {
      const value = request.headers.get(h);
      if (value && !value.startsWith(origin)) {
        return json(
          {
            detail: `CSRF Failed: ${h === 'origin' ? 'Origin checking failed' : 'Referer checking failed'} - ${value} does not match any trusted origins.`,
          },
          403,
        );
      }
    }
    return undefined;
  }

  return [
    route('*', FRAGALYSIS_PATHS, ({ request }) => {
      const url = new URL(request.url);
      const path = url.pathname;
      const method = request.method.toUpperCase();
      const { authenticated, sid, bearer } = sim.identify(request);
      if (!path.endsWith('/')) {
        // Django's APPEND_SLASH: a 301 to the same path with the slash, query kept.
        return new HttpResponse(null, { status: 301, headers: { location: `${path}/${url.search}` } });
      }
      if (sid && sim.stale.has(sid) && method === 'GET') {
        if (request.headers.get('x-requested-with') === 'XMLHttpRequest') {
          return json(
            {
              error: 'session expired',
              refresh_url: 'https://keycloak.example.org/auth/realms/xchem/protocol/openid-connect/auth',
            },
            403,
          );
        }
        return new HttpResponse(null, {
          status: 302,
          headers: {
            location:
              'https://keycloak.example.org/auth/realms/xchem/protocol/openid-connect/auth?client_id=fragalysis',
          },
        });
      }
      // CSRF only for session users: a bearer token needs none (spec §11.2).
      if (method !== 'GET' && method !== 'HEAD' && authenticated && bearer === undefined) {
        const failure = csrfFailure(request);
        if (failure) return failure;
      }
      return undefined;
    }),
  ];
};

/** Django's 404 page for everything else under the simulator's paths. */
export const notFoundRoutes: FragalysisRoutes = () => [
  route('*', FRAGALYSIS_PATHS, () =>
    html(404, `<h1>Not Found</h1><p>The requested resource was not found on this server.</p>`),
  ),
];
