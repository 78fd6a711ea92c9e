// Module hooks of register.mjs: a URL under `from` (packages/core/dist/) resolves under `to` instead.
let from = '';
let to = '';

export function initialize(data) {
  ({ from, to } = data);
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (from && resolved.url.startsWith(from))
    return { ...resolved, url: to + resolved.url.slice(from.length) };
  return resolved;
}
