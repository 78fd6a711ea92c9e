import { Writable } from 'node:stream';
import { AbortError, maskSecret, SciportError, UsageError } from '@sciport/core';
import { isSecretKey, validateConfigKey } from '@sciport/core/node';
import { checkKnownKey, knownConfigKeys } from '../config-keys.js';
import type { CliContext } from '../context.js';
import { debug, info, printJson, printTable } from '../output.js';
import type { CommandModule } from '../program.js';

/**
 * `sciport config get|set|unset|list|path`: settings in `config.json`, secrets (keys ending in password, token,
 * apiKey, secret, …) in `credentials.json` (mode 0600). Secrets are never printed unless `get --reveal` asks.
 */

/** Longest value accepted on stdin. */
const MAX_STDIN_BYTES = 1024 * 1024;

export const register: CommandModule['register'] = (command, { action }) => {
  command.addHelpText(
    'after',
    `\n${wrapWords(`Keys: ${knownConfigKeys().join(', ')}.`, 100)}\n` +
      'Keys ending in password, token, apiKey (api_key, api-key) or secret are stored in credentials.json (mode 0600)\n' +
      'and shown masked. Environment variables (ICSD_PASSWORD, …) and flags take precedence over these files.',
  );

  command
    .command('get')
    .description('print the value of a key (secrets masked unless --reveal)')
    .argument('<key>', 'dotted key, e.g. icsd.username')
    .option('--reveal', 'print a secret value in clear (it will show on screen and in logs)')
    .action(
      action(async (ctx, key: string, options: { reveal?: boolean }) => {
        validateConfigKey(key);
        const value = await ctx.config.get(key);
        checkKnownKey(key, value !== undefined);
        if (value === undefined) {
          throw new SciportError(`${key} is not set`, { hint: `Run \`sciport config set ${key}\`` });
        }
        const secret = isSecretKey(key);
        const shown = secret && !options.reveal ? maskSecret(value) : value;
        if (ctx.json) printJson(ctx.out, { key, value: shown, secret });
        else ctx.out.write(`${shown}\n`);
      }),
    );

  command
    .command('set')
    .description(
      'set a key; without a value, read it from stdin (or prompt), keeping it out of shell history',
    )
    .argument('<key>', 'dotted key, e.g. icsd.password')
    .argument('[value]', 'the value (omit it for secrets)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  sciport config set icsd.username alice\n' +
        '  sciport config set icsd.password                       # prompts, without echo\n' +
        '  printf %s "$TOKEN" | sciport config set fragalysis.token  # reads stdin',
    )
    .action(
      action(async (ctx, key: string, value: string | undefined) => {
        validateConfigKey(key);
        // Before any value is read: a mistyped key never takes a secret.
        checkKnownKey(key);
        const secret = isSecretKey(key);
        if (value === undefined) {
          value = await readValue(ctx, key, secret);
        } else if (secret) {
          info(
            ctx,
            `tip: omit the value of ${key} to type it or pipe it on stdin, out of your shell history`,
          );
        }
        await ctx.config.set(key, value);
        const file = secret ? ctx.config.path.credentials : ctx.config.path.config;
        if (ctx.json) printJson(ctx.out, { key, secret, file });
        else info(ctx, `Saved ${key} in ${file}`);
      }),
    );

  command
    .command('unset')
    .description('remove a key')
    .argument('<key>', 'dotted key')
    .action(
      action(async (ctx, key: string) => {
        validateConfigKey(key);
        // A key no service reads may still be in the files (saved by an older version): it can be removed.
        checkKnownKey(key, (await ctx.config.get(key)) !== undefined);
        const removed = await ctx.config.unset(key);
        if (ctx.json) printJson(ctx.out, { key, removed });
        else info(ctx, removed ? `Removed ${key}` : `${key} was not set`);
      }),
    );

  command
    .command('list')
    .description('list every key (secrets masked)')
    .action(
      action(async (ctx) => {
        const entries = await ctx.config.list();
        if (ctx.json) {
          printJson(ctx.out, entries);
        } else if (entries.length === 0) {
          info(ctx, 'Nothing set yet. Try `sciport config set icsd.username <name>`.');
        } else {
          printTable(ctx, entries, [
            { header: 'key', value: 'key' },
            { header: 'value', value: 'value' },
          ]);
        }
      }),
    );

  command
    .command('path')
    .description('print the paths of config.json and credentials.json')
    .action(
      action(async (ctx) => {
        const { dir, config, credentials } = ctx.config.path;
        if (ctx.json) {
          printJson(ctx.out, { dir, config, credentials });
        } else {
          printTable(
            ctx,
            [
              { name: 'config', path: config },
              { name: 'credentials', path: credentials },
            ],
            [
              { header: 'file', value: 'name' },
              { header: 'path', value: 'path' },
            ],
            { header: false },
          );
        }
      }),
    );
};

/** Text broken between words into lines of at most `width` characters. */
function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

/** The value of `config set <key>` without a value: piped stdin, or a prompt on a terminal. */
async function readValue(ctx: CliContext, key: string, secret: boolean): Promise<string> {
  if (ctx.stdin.isTTY) return prompt(ctx, `${key}: `, secret);
  debug(ctx, `reading the value of ${key} from stdin`);
  const text = await readStdin(ctx);
  // One trailing newline is the shell's (`echo`), not the value's.
  const value = text.replace(/\r?\n$/, '');
  if (value === '') {
    throw new UsageError(`No value for ${key} on stdin`, {
      hint: `Pipe it in (printf %s "$VALUE" | sciport config set ${key}) or pass it as an argument`,
    });
  }
  return value;
}

function readStdin(ctx: CliContext): Promise<string> {
  const { stdin, signal } = ctx;
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: unknown) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      stdin.pause();
      if (error === undefined) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(error);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.byteLength;
      if (size > MAX_STDIN_BYTES) {
        finish(new UsageError(`The value on stdin is longer than ${MAX_STDIN_BYTES} bytes`));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = () => finish();
    const onError = (error: unknown) => finish(error);
    const onAbort = () => finish(signal.reason ?? new AbortError());
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
    stdin.resume();
  });
}

/** Asks on the terminal; a secret is typed without echo. Ctrl-C interrupts like anywhere else. */
async function prompt(ctx: CliContext, question: string, hidden: boolean): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      // Straight to the terminal: readline draws with cursor sequences that the writer's guard would escape.
      if (!muted) ctx.err.stream.write(chunk.toString());
      callback();
    },
  });
  const rl = createInterface({ input: ctx.stdin, output, terminal: true });
  // In raw mode Ctrl-C reaches readline, not the process: hand it over to the usual SIGINT path.
  rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
  try {
    const answer = rl.question(question, { signal: ctx.signal });
    muted = hidden;
    const value = await answer;
    if (value === '') throw new UsageError('No value given');
    return value;
  } finally {
    muted = false;
    rl.close();
    if (hidden) ctx.err.stream.write('\n');
  }
}
