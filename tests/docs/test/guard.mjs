// Preloaded into every example (node --import): a request to any host but the loopback fails, so an example that
// forgot to read its URL from the environment cannot reach the real services.
import http from 'node:http';
import https from 'node:https';

const LOCAL = new Set(['127.0.0.1', 'localhost', '[::1]']);
const refuse = (url) => {
  if (!LOCAL.has(url.hostname))
    throw new Error(`the example tried to reach ${url.host}: only the simulators (127.0.0.1) are allowed`);
};
const originalFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  refuse(new URL(typeof input === 'string' || input instanceof URL ? input : input.url));
  return originalFetch(input, init);
};
const urlOf = (first) =>
  typeof first === 'string' || first instanceof URL
    ? new URL(first)
    : new URL(`http://${first?.hostname ?? first?.host ?? 'localhost'}`);
for (const mod of [http, https]) {
  for (const name of ['request', 'get']) {
    const original = mod[name];
    mod[name] = (...args) => {
      refuse(urlOf(args[0]));
      return original.apply(mod, args);
    };
  }
}
