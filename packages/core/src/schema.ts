import type { z } from 'zod';
import { ResponseValidationError, type ValidationIssue } from './errors.js';

export interface ParseContext {
  /** Short service name (`icsd`). */
  service: string;
  /** The endpoint that answered (`GET /search/expert`). */
  endpoint: string;
  /** The raw body, for the error's excerpt. */
  body?: string | undefined;
}

/**
 * Validates a decoded response with a zod schema and returns the typed value.
 *
 * On failure throws `ResponseValidationError` naming the service, the endpoint, every failing path with its
 * message, and a short redacted excerpt of the body. Schemas are meant to be non-strict (`z.object`, not
 * `z.strictObject`), so that fields a server adds later do not break users.
 */
export function parseResponse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  context: ParseContext,
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ResponseValidationError({
    service: context.service,
    endpoint: context.endpoint,
    issues: result.error.issues.map(toIssue),
    body: context.body ?? safeStringify(value),
  });
}

function toIssue(issue: z.core.$ZodIssue): ValidationIssue {
  return { path: formatPath(issue.path), message: issue.message };
}

/** `['results', 3, 'title']` → `results[3].title`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'symbol') out += `[${key.toString()}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function safeStringify(value: unknown): string | undefined {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return undefined;
  }
}
