// Preloaded into every README example (node --import): a request to any host but 127.0.0.1 fails, so an
// example that forgot to read its URL from the environment cannot reach the real services.
import http from 'node:http';
import https from 'node:https';

const LOCAL = new Set(['127.0.0.1', 'localhost', '[::1]']);
const refuse = (url) => {
  if (!LOCAL.has(url.hostname))
    throw new Error(`README example tried to reach ${url.host}: only the simulators are allowed`);
};
const originalFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  refuse(new URL(typeof input === 'string' || input instanceof URL ? input : input.url));
  return originalFetch(input, init);
};
for (const mod of [http, https]) {
  const original = mod.request;
  mod.request = (...args) => {
    const first = args[0];
    const url =
      typeof first === 'string' || first instanceof URL
        ? new URL(first)
        : new URL(`http://${first?.hostname ?? first?.host ?? 'localhost'}`);
    refuse(url);
    return original.apply(mod, args);
  };
}
