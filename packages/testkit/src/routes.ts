import { HttpHandler, type HttpHandlerMethod, type HttpResponseResolver, type RequestHandler } from 'msw';

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

/**
 * An msw HTTP handler on a RegExp path (matched against the request's origin and path, as msw matches it) that
 * passes over a request whose path does not match before any of msw's work for it (the request clone, URL
 * parameters, cookies): a simulator has hundreds of routes, and msw offers a request to each one in turn until
 * one answers. A request whose path matches is handled as by any msw handler.
 */
export class RouteHandler extends HttpHandler {
  override async run(args: Parameters<HttpHandler['run']>[0]): ReturnType<HttpHandler['run']> {
    const path = this.info.path;
    if (path instanceof RegExp) {
      const url = args.request.url;
      // origin + pathname without a URL parse: the request URL is absolute and normalised.
      const end = url.search(/[?#]/);
      if (!path.test(end === -1 ? url : url.slice(0, end))) return null;
    }
    return super.run(args);
  }
}

/** A route: `method` (`'*'` for any, or a RegExp) on a RegExp path ({@link exactPath}, {@link underPrefix} …). */
export function route(
  method: HttpHandlerMethod | '*',
  path: RegExp,
  resolver: HttpResponseResolver,
): RouteHandler {
  return new RouteHandler(method === '*' ? /.+/ : method, path, resolver);
}

/** A route for GET that also answers HEAD (servers route HEAD as GET; the body is the caller's to drop). */
export function getOrHead(path: RegExp, resolver: HttpResponseResolver): RouteHandler {
  return route(/^(?:GET|HEAD)$/i, path, resolver);
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
  return route('*', underPrefix(prefix), ({ request }) => {
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
  return route('*', path, ({ request }) =>
    matchesAnyPath(routes, new URL(request.url)) ? methodNotAllowed() : notFound(),
  );
}
