import { exactPath, fastApiPaths, getOrHead, underPrefix, unmatched } from '../../routes.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json } from '../util.js';

const notFound = () => detail(404, 'Not Found');
const methodNotAllowed = () => detail(405, 'Method Not Allowed');

/**
 * First on an API mount: counts the request, then FastAPI's path rules. Paths are exact, as FastAPI routes
 * them: an empty segment matches nothing (404), and a trailing slash is answered with a redirect to the path
 * without it (307, redirect_slashes), as the live server would.
 */
export const fastApiGate: CrucibleRoutes = (sim, mount) => {
  if (mount.api === 'storage') return [];
  return [
    fastApiPaths(mount.prefix, notFound, () => {
      sim.stats.requests += 1;
      sim.stats.apiRequests += 1;
    }),
  ];
};

/**
 * v2 liveness and readiness (spec §15.1): no key needed, not counted per route. Ready is `degraded` with
 * `db: "error"` and `db_ms: null`, as a 503, while the database is down (`setDatabaseHealth(false)`).
 */
export const healthRoutes: CrucibleRoutes = (sim, mount) => {
  if (mount.api !== 'v2') return [];
  return [
    getOrHead(exactPath(mount.prefix, '/health/live'), () => json({ status: 'ok' })),
    getOrHead(exactPath(mount.prefix, '/health/ready'), () =>
      sim.dbHealthy
        ? json({ status: 'ok', db: 'ok', db_ms: 1.2, version: 'crucible-sim' })
        : json({ status: 'degraded', db: 'error', db_ms: null, version: 'crucible-sim' }, 503),
    ),
  ];
};

/**
 * Last on an API mount: 405 when a route of `modules` has the path on this mount with another method, else 404
 * (both before authentication, as FastAPI answers them).
 */
export function fastApiFallback(modules: readonly CrucibleRoutes[]): CrucibleRoutes {
  return (sim, mount) => {
    if (mount.api === 'storage') return [];
    const routes = modules.flatMap((routes) => routes(sim, mount));
    return [unmatched(underPrefix(mount.prefix), routes, notFound, methodNotAllowed)];
  };
}
