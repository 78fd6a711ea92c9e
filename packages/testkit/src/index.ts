/**
 * @sciport/testkit: msw request handlers served over real HTTP on 127.0.0.1, with seeded fault injection
 * and a request log, plus helpers for handler authors. Service simulators build on these.
 *
 * @packageDocumentation
 */

export { type BytesResponseOptions, bytesResponse, readBody } from './bytes-response.js';
export {
  createFaultInjector,
  type FaultDecision,
  type FaultHandlersOptions,
  type FaultInjector,
  type FaultInjectorOptions,
  type FaultKind,
  type FaultMatch,
  type FaultRule,
  faultHandlers,
} from './faults.js';
export { startTestServer, type TestServer, type TestServerOptions } from './http-server.js';
export { createRandom, type Random } from './random.js';
export type { RequestLogEntry } from './request-log.js';
