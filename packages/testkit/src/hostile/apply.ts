import type { FaultMatch } from '../faults.js';
import type { HostileRoute, HostileStats } from './scenarios.js';

/**
 * A request held open until the test says so: lets a test stop a client at an exact point of a run (an
 * upload started, every earlier write done), e.g. to kill the process there and resume it.
 */
export interface HoldRoute extends HostileRoute {
  /** Resolves when the first matching request has arrived (and is being held). */
  readonly arrived: Promise<void>;
  /** Answers every held request (and later ones) with `status` (default 503) and an empty body. */
  release(status?: number): void;
}

/**
 * Every matching request is held without an answer (its body is read and dropped) until `release()`, the
 * client going away, or the server closing. `stats.requests` counts them.
 */
export function holdRequests(match: FaultMatch): HoldRoute {
  const stats: HostileStats = { requests: 0, bytesSent: 0 };
  let signalArrived: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => {
    signalArrived = resolve;
  });
  let released: number | undefined;
  const waiting = new Set<(status: number) => void>();
  return {
    match,
    stats,
    arrived,
    release(status = 503) {
      released = status;
      for (const answer of waiting) answer(status);
      waiting.clear();
    },
    async handle(req, res, { signal }) {
      stats.requests += 1;
      req.resume();
      signalArrived();
      const status =
        released ??
        (await new Promise<number | undefined>((resolve) => {
          const answer = (s: number) => resolve(s);
          waiting.add(answer);
          signal.addEventListener(
            'abort',
            () => {
              waiting.delete(answer);
              resolve(undefined);
            },
            { once: true },
          );
        }));
      if (status === undefined) {
        if (!req.socket.destroyed) req.socket.destroy();
        return;
      }
      res.writeHead(status, { 'content-length': '0', connection: 'close' });
      res.end();
    },
  };
}
