import { HttpResponse, type RequestHandler } from 'msw';
import { exactPath, getOrHead, pathParams, route } from '../routes.js';
import type { Ctx, Handler, Version } from './common.js';
import type { CrucibleMount, CrucibleSim } from './state.js';

/** Declares one API route: method, FastAPI path template (`datasets/{dsid}`), the versions serving it. */
export interface ApiRouter {
  (method: string, template: string, versions: readonly Version[], handler: Handler): void;
  /**
   * The msw handlers of the routes declared for this mount, the routes with more literal segments first
   * (`datasets/search` before `datasets/{dsid}`), otherwise in declaration order.
   */
  handlers(): RequestHandler[];
}

/**
 * The routes of a route module on one API mount. Each route is an msw handler of its method (GET also answers
 * HEAD, without the body) and exact path under the mount's prefix; it authenticates the API key (401, or the
 * bad-key status of the version), counts the call per route template, brings the processing requests up to
 * date, then runs the route's handler. Routes of other versions, and every route on the storage mount, are
 * left out.
 */
export function apiRouter(sim: CrucibleSim, mount: CrucibleMount): ApiRouter {
  const routes: Array<{ literals: number; handler: RequestHandler }> = [];
  const add = (method: string, template: string, versions: readonly Version[], handler: Handler) => {
    const { prefix, api: version } = mount;
    if (version === 'storage' || !versions.includes(version)) return;
    const segments = template.split('/').filter(Boolean);
    const path = `/${segments.join('/')}`;
    const key = `${method} ${path}`;
    const resolve = async ({ request }: { request: Request }) => {
      const user = sim.authenticate(request, version);
      if (user instanceof Response) return user;
      sim.stats.routes[key] = (sim.stats.routes[key] ?? 0) + 1;
      if (method !== 'GET') sim.stats.writes[key] = (sim.stats.writes[key] ?? 0) + 1;
      sim.settleAll();
      const url = new URL(request.url);
      const params = pathParams(prefix, path, url.pathname);
      const ctx: Ctx = { request, url, version, params, query: url.searchParams, user };
      const response = await handler(ctx);
      return request.method.toUpperCase() === 'HEAD' ? new HttpResponse(null, response) : response;
    };
    const pattern = exactPath(prefix, path);
    routes.push({
      literals: segments.filter((s) => !s.startsWith('{')).length,
      handler: method === 'GET' ? getOrHead(pattern, resolve) : route(method, pattern, resolve),
    });
  };
  return Object.assign(add, {
    handlers: () => [...routes].sort((a, b) => b.literals - a.literals).map((r) => r.handler),
  });
}
