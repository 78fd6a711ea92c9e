import { HttpHandler, type HttpResponseResolver, http, type RequestHandler } from 'msw';

/**
 * How every simulator of this package is built: a route module is a function of the simulator's state (its data,
 * mutable state and the helpers over them) and of a mount (where the routes are served: a path prefix, an API
 * version …) that returns real msw handlers for one group of routes. A simulator composes its route modules for
 * each of its mounts ({@link composeRoutes}) and exposes the result as `handlers`; each module can be reused or
 * overridden on its own (`server.use(...)` before it).
 */
export type SimRoutes<Sim, Mount> = (sim: Sim, mount: Mount) => RequestHandler[];

/** The handlers of `modules` for each mount, mount by mount, in order. */
export function composeRoutes<Sim, Mount>(
  sim: Sim,
  mounts: readonly Mount[],
  modules: readonly SimRoutes<Sim, Mount>[],
): RequestHandler[] {
  return mounts.flatMap((mount) => modules.flatMap((routes) => routes(sim, mount)));
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const ORIGIN = '^[a-z]+://[^/]+';

/** Whether a template segment is a parameter: `{name}` or `:name`. */
const isParam = (segment: string) => segment.startsWith(':') || segment.startsWith('{');

/**
 * The msw path of `prefix` + `template` on any origin, as exact as a server routes it: case-sensitive, no
 * optional trailing slash, and each parameter (`{name}` or `:name`) one non-empty segment. Matched against the
 * request's origin and path (msw ignores the query).
 */
export function exactPath(prefix: string, template: string): RegExp {
  const trailing = template.endsWith('/') ? '/' : '';
  const segments = template.split('/').filter(Boolean);
  const body = segments.map((s) => `/${isParam(s) ? '[^/]+' : escapeRegExp(s)}`).join('');
  return new RegExp(`${ORIGIN}${escapeRegExp(prefix)}${body}${trailing}$`);
}

/** The msw path of everything at and under `prefix` on any origin (`/api/v2`, `/api/v2/…`). */
export function underPrefix(prefix: string): RegExp {
  return new RegExp(`${ORIGIN}${escapeRegExp(prefix)}(?:/|$)`);
}

/**
 * The parameters of `template` in a request path that {@link exactPath} matched, each segment percent-decoded
 * (kept as is when it does not decode).
 */
export function pathParams(prefix: string, template: string, pathname: string): Record<string, string> {
  const names = template.split('/').filter(Boolean);
  const actual = pathname.slice(prefix.length).split('/').filter(Boolean);
  const params: Record<string, string> = {};
  names.forEach((name, i) => {
    if (!isParam(name)) return;
    const raw = actual[i] ?? '';
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      value = raw;
    }
    params[name.replace(/^[:{]|\}$/g, '')] = value;
  });
  return params;
}

/** A handler for GET that also answers HEAD (servers route HEAD as GET; the body is the caller's to drop). */
export function getOrHead(path: RegExp | string, resolver: HttpResponseResolver): HttpHandler {
  return new HttpHandler(/^(?:GET|HEAD)$/i, path, resolver);
}

/** Whether a request's URL matches the path of one of `handlers` (whatever the method). */
export function matchesAnyPath(handlers: readonly RequestHandler[], url: URL): boolean {
  const clean = `${url.origin}${url.pathname}`;
  return handlers.some(
    (h) => h instanceof HttpHandler && h.info.path instanceof RegExp && h.info.path.test(clean),
  );
}

/**
 * FastAPI's routing quirks under a prefix, as the first handler there: `onRequest` sees every request; an empty
 * path segment answers `notFound()`, and a trailing slash a 307 to the path without it (redirect_slashes).
 * Anything else falls through to the route handlers.
 */
export function fastApiPaths(
  prefix: string,
  notFound: () => Response,
  onRequest: (request: Request) => void = () => undefined,
): RequestHandler {
  return http.all(underPrefix(prefix), ({ request }) => {
    onRequest(request);
    const url = new URL(request.url);
    const rest = url.pathname.slice(prefix.length);
    if (/\/\//.test(rest)) return notFound();
    if (rest.length > 1 && rest.endsWith('/')) {
      const target = new URL(url.href);
      target.pathname = target.pathname.replace(/\/+$/, '');
      return new Response(null, { status: 307, headers: { location: target.href } });
    }
    return undefined;
  });
}

/**
 * The last handler under a prefix: 405 (`methodNotAllowed()`) when one of `routes` has the request's path with
 * another method, else 404 (`notFound()`).
 */
export function unmatched(
  path: RegExp,
  routes: readonly RequestHandler[],
  notFound: () => Response,
  methodNotAllowed: () => Response,
): RequestHandler {
  return http.all(path, ({ request }) =>
    matchesAnyPath(routes, new URL(request.url)) ? methodNotAllowed() : notFound(),
  );
}
