import {
  AbortError,
  ApiError,
  AuthenticationError,
  BadRequestError,
  ConnectionError,
  MissingCredentialsError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ResponseValidationError,
  registerSecret,
  SciportError,
  ServerError,
  TimeoutError,
  UsageError,
} from '@sciport/core';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ExitCode, ExitError, exitCodeFor, reportError } from '../src/exit-codes.js';

const http = { method: 'GET', url: 'https://icsd.example/ws/search', service: 'icsd' };

function capture(): { err: { write: (s: string) => void }; text: () => string } {
  let text = '';
  const write = (s: string) => {
    text += s;
  };
  return { err: { write }, text: () => text };
}

describe('exitCodeFor', () => {
  it.each([
    ['UsageError', new UsageError('bad flag'), 2],
    ['AuthenticationError', new AuthenticationError({ ...http, status: 401 }), 3],
    ['PermissionDeniedError', new PermissionDeniedError({ ...http, status: 403 }), 3],
    ['MissingCredentialsError', new MissingCredentialsError('no password'), 3],
    ['NotFoundError', new NotFoundError({ ...http, status: 404 }), 4],
    ['ConnectionError', new ConnectionError('ECONNREFUSED'), 5],
    ['TimeoutError', new TimeoutError('took too long'), 5],
    ['AbortError', new AbortError(), 130],
    ['BadRequestError', new BadRequestError({ ...http, status: 400 }), 1],
    ['RateLimitError', new RateLimitError({ ...http, status: 429 }), 1],
    ['ServerError', new ServerError({ ...http, status: 503 }), 1],
    ['ApiError', new ApiError({ ...http, status: 418 }), 1],
    ['ResponseValidationError', new ResponseValidationError({ service: 'x', endpoint: '/', issues: [] }), 1],
    ['SciportError', new SciportError('boom'), 1],
    ['plain Error', new Error('bug'), 1],
    ['a thrown string', 'oops', 1],
    ['DOM AbortError', new DOMException('aborted', 'AbortError'), 130],
    ['DOM TimeoutError', new DOMException('timed out', 'TimeoutError'), 5],
    [
      'commander parse error',
      new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"),
      2,
    ],
    ['commander help exit', new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), 0],
    ['commander missing subcommand', new CommanderError(1, 'commander.help', '(outputHelp)'), 2],
    ['ExitError', new ExitError(7), 7],
  ])('%s → %i', (_name, error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });

  it('recognises errors from another copy of core by their marker, not instanceof', () => {
    const foreign = Object.assign(new Error('copy'), {
      [Symbol.for('@sciport/core.error')]: ['NotFoundError', 'ApiError', 'SciportError'],
    });
    expect(exitCodeFor(foreign)).toBe(ExitCode.NotFound);
  });
});

describe('reportError', () => {
  it('prints exactly one line with the message and hint', () => {
    const out = capture();
    const code = reportError(
      new MissingCredentialsError('No ICSD password found', {
        hint: 'Set ICSD_PASSWORD or run `sciport config set icsd.password`',
      }),
      { json: false, verbose: false, err: out.err },
    );
    expect(code).toBe(3);
    expect(out.text()).toBe(
      'sciport: No ICSD password found. Set ICSD_PASSWORD or run `sciport config set icsd.password`\n',
    );
  });

  it('adds the stack (and causes) only with --verbose, redacted', () => {
    registerSecret('stack-secret-9999');
    const error = new ConnectionError('connect failed', { cause: new Error('ECONNRESET stack-secret-9999') });
    const quiet = capture();
    reportError(error, { json: false, verbose: false, err: quiet.err });
    expect(quiet.text().split('\n').filter(Boolean)).toHaveLength(1);
    const verbose = capture();
    expect(reportError(error, { json: false, verbose: true, err: verbose.err })).toBe(5);
    expect(verbose.text()).toMatch(/^sciport: connect failed\n/);
    expect(verbose.text()).toContain('at ');
    expect(verbose.text()).toContain('Caused by: Error: ECONNRESET [REDACTED]');
    expect(verbose.text()).not.toContain('stack-secret-9999');
  });

  it('prints toJSON() as one line with --json', () => {
    const out = capture();
    const error = new NotFoundError({ ...http, status: 404 });
    expect(reportError(error, { json: true, verbose: false, err: out.err })).toBe(4);
    expect(out.text().trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(out.text())).toEqual(JSON.parse(JSON.stringify(error.toJSON())));
  });

  it('turns commander errors into usage errors with a suggestion and the --help hint', () => {
    const out = capture();
    const error = new CommanderError(
      1,
      'commander.unknownCommand',
      "error: unknown command 'confg'\n(Did you mean config?)",
    );
    expect(reportError(error, { json: false, verbose: true, err: out.err, commandPath: 'sciport' })).toBe(2);
    expect(out.text()).toBe(
      "sciport: unknown command 'confg'. Did you mean config? Run `sciport --help` for usage\n",
    );
  });

  it('prints nothing for help and version exits', () => {
    const out = capture();
    expect(
      reportError(new CommanderError(0, 'commander.version', '1.0.0'), {
        json: false,
        verbose: false,
        err: out.err,
      }),
    ).toBe(0);
    expect(out.text()).toBe('');
  });

  it('says how to see more for unexpected errors, and honours an exit code override', () => {
    const out = capture();
    expect(reportError(new TypeError('x is undefined'), { json: false, verbose: false, err: out.err })).toBe(
      1,
    );
    expect(out.text()).toBe('sciport: x is undefined (run with --verbose for details)\n');
    const interrupted = capture();
    expect(
      reportError(new AbortError('Interrupted by SIGTERM'), {
        json: false,
        verbose: false,
        err: interrupted.err,
        exitCode: 143,
      }),
    ).toBe(143);
    expect(interrupted.text()).toBe('sciport: Interrupted\n');
  });
});
