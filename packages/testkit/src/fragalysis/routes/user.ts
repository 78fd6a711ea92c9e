import { HttpResponse } from 'msw';
import { text } from '../../archives.js';
import { exactPath, route } from '../../routes.js';
import { type FragalysisRoutes, json } from '../state.js';

/** The landing page that sets the CSRF cookie, `/api/user/` and `/api/token/` (spec §2). */
export const userRoutes: FragalysisRoutes = (sim, mount) => [
  route('GET', exactPath(mount.prefix, '/viewer/react/landing/'), () => {
    sim.stats.csrfBootstraps += 1;
    const page = text('<!doctype html><html><body><div id="root"></div></body></html>');
    return new HttpResponse(page, {
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-length': String(page.byteLength),
        'set-cookie': `csrftoken=${sim.csrf}; Path=/; SameSite=Lax`,
      },
    });
  }),
  route('*', exactPath(mount.prefix, '/api/user/'), ({ request }) => {
    const method = request.method.toUpperCase();
    if (method !== 'GET') return json({ detail: `Method "${method}" not allowed.` }, 405);
    const { user, authenticated } = sim.identify(request);
    const authenticator = {
      kind: 'ISPYB',
      name: 'ispyb',
      version: '1.4.4',
      location: 'http://ispyb.local',
    };
    return json({
      user: authenticated ? user.username : '',
      user_id: user.userId,
      // The docs' (older) key for the same block.
      ...(sim.options.oldServer ? { version: authenticator } : { authenticator }),
      ping: 'OK',
      target_access: [...user.tas],
    });
  }),
  route('GET', exactPath(mount.prefix, '/api/token/'), ({ request }) => {
    const { authenticated, sid } = sim.identify(request);
    return authenticated
      ? json({ sessionid: sid })
      : json({ error: 'You need to be logged in to get a token' }, 403);
  }),
];
