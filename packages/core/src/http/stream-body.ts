import { SciportError } from '../errors.js';
import { mapAttemptError } from './error-body.js';
import { type RawBody, rawBodyOf } from './raw-body.js';
import type { StreamResponse } from './types.js';

/**
 * The body of a streamed response, with the attempt's timeout turned into an idle timeout (re-armed whenever
 * data arrives) and aborts ending it directly: they must not depend on fetch seeing the signal (see
 * `untilAborted`), and a read an abort ends reports the abort, never a clean end of body. When the transport
 * hands the body over without copies (`nodeDownloadFetch`), `raw` pipes it with the same timeout, abort and
 * error mapping; the web stream stays available (and untouched until read) for callers that want it.
 */
export function wrapStream(
  response: Response,
  ctx: {
    service: string;
    controller: AbortController;
    cleanup: () => void;
    rearm: (() => void) | undefined;
    isTimedOut: () => boolean;
    userSignal: AbortSignal | undefined;
    method: string;
    url: URL;
    timeoutMs: number | false;
  },
): StreamResponse {
  const inner = response.body as ReadableStream<Uint8Array>;
  const raw = rawBodyOf(response);
  const signal = ctx.controller.signal;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let piped = false;
  const finish = () => {
    signal.removeEventListener('abort', onAbort);
    ctx.cleanup();
  };
  const onAbort = () => {
    // A raw pipe sees the signal itself (and finishes when it ends). A body nobody reads (or whose read is
    // pending) is cancelled here: its connection and the attempt's listeners are released even if it is
    // never read again.
    if (piped) return;
    (reader ?? inner).cancel(signal.reason).catch(() => undefined);
    finish();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const mapError = (error: unknown) =>
    mapAttemptError(error, {
      service: ctx.service,
      timedOut: ctx.isTimedOut(),
      userSignal: ctx.userSignal,
      method: ctx.method,
      url: ctx.url,
      timeoutMs: ctx.timeoutMs,
      whileReading: true,
    });
  ctx.rearm?.();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (signal.aborted) throw signal.reason;
          if (piped) throw new SciportError('the response body is already being read');
          reader ??= inner.getReader();
          const { done, value } = await reader.read();
          if (signal.aborted) throw signal.reason;
          if (done) {
            finish();
            controller.close();
            return;
          }
          ctx.rearm?.();
          controller.enqueue(value);
        } catch (error) {
          finish();
          controller.error(mapError(error));
        }
      },
      async cancel(reason) {
        finish();
        if (piped) ctx.controller.abort(reason);
        else await (reader ?? inner).cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
  const pipe: RawBody['pipe'] = async (sink, options = {}) => {
    if (piped || reader || !raw) throw new SciportError('the response body is already being read');
    piped = true;
    const outer = options.signal;
    const stop = () => ctx.controller.abort(outer?.reason);
    if (outer?.aborted) stop();
    else outer?.addEventListener('abort', stop, { once: true });
    // The sink's own failure (a full disk) is the caller's error, not the connection's.
    let sinkError: { error: unknown } | undefined;
    try {
      if (signal.aborted) throw signal.reason;
      await raw.pipe(
        (chunk) => {
          ctx.rearm?.();
          try {
            sink(chunk);
          } catch (error) {
            sinkError = { error };
            throw error;
          }
        },
        { signal },
      );
      if (signal.aborted) throw signal.reason;
    } catch (error) {
      if (sinkError) throw sinkError.error;
      throw mapError(error);
    } finally {
      outer?.removeEventListener('abort', stop);
      finish();
    }
  };
  return {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    url: response.url || ctx.url.href,
    body,
    ...(raw ? { raw: { pipe } } : {}),
    cancel: async (reason?: unknown) => {
      await body.cancel(reason).catch(() => undefined);
    },
  };
}
