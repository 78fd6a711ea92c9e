import { defineSettings, UsageError } from '@sciport/core';

/**
 * Where the Fragalysis client (and the CLI) find the stack and the token (a session token or an access token) when they are not passed: the
 * environment variables and `sciport config` keys, named once here; and the stacks known by name.
 */
export const FRAGALYSIS_SETTINGS = defineSettings({
  stack: {
    env: 'FRAGALYSIS_STACK',
    configKey: 'fragalysis.stack',
    secret: false,
    label: 'Fragalysis stack',
  },
  token: { env: 'FRAGALYSIS_TOKEN', configKey: 'fragalysis.token', secret: true, label: 'Fragalysis token' },
  // issue 14: xca. A Keycloak (OIDC) access token, sent as `Authorization: Bearer …` (spec §11.2); never with `token`.
  accessToken: {
    env: 'FRAGALYSIS_ACCESS_TOKEN',
    configKey: 'fragalysis.accessToken',
    secret: true,
    label: 'Fragalysis access token',
  },
});

/** The known stacks (spec §1). Any other `http(s)://host[:port]` works too. */
export const STACKS = {
  production: 'https://fragalysis.diamond.ac.uk',
  staging: 'https://fragalysis.xchem.diamond.ac.uk',
  legacy: 'https://fragalysis-legacy.xchem.diamond.ac.uk',
} as const;
export type StackName = keyof typeof STACKS;

/** A stack name or URL → its base URL, without a trailing slash. */
export function resolveStack(stack: string): string {
  const name = stack.trim();
  const known = name.toLowerCase();
  if (Object.hasOwn(STACKS, known)) return STACKS[known as StackName];
  return stackUrl(
    // A bare host name (`fragalysis-me-dev.xchem-dev.diamond.ac.uk`) means HTTPS.
    /^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?(\/.*)?$/i.test(name) ? `https://${name}` : name,
    () =>
      `Unknown Fragalysis stack ${JSON.stringify(stack)}: use production, staging, legacy or a URL (https://host)`,
  );
}

/**
 * A stack's URL (`http(s)://host[:port]`), without its query, fragment and trailing slash. A path other than `/`
 * is a `UsageError` that shows the origin to use instead.
 */
export function stackUrl(
  text: string,
  invalid: () => string = () => `Not a URL: ${JSON.stringify(text)}`,
): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UsageError(invalid());
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`A Fragalysis stack URL must be http(s), got ${url.protocol}`);
  }
  // Fragalysis answers from the root of its host (spec §1): with a path (a pasted viewer link, a `/api`), every
  // call would be a 404 from Django, so it is refused here with the form that works.
  if (url.pathname.replace(/\/+$/, '') !== '') {
    throw new UsageError(
      `A Fragalysis stack URL names the host only, got ${JSON.stringify(text.trim())} (with the path ${url.pathname})`,
      {
        hint: `Use ${url.origin} (in --stack, FRAGALYSIS_STACK or \`sciport config set fragalysis.stack\`); the client adds the /api/… paths itself`,
      },
    );
  }
  return url.origin;
}
