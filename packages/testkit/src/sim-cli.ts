import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { RequestHandler } from 'msw';
import type { FaultRule } from './faults.js';
import { helpWidth, wrapHelp } from './help-wrap.js';
import { startTestServer } from './http-server.js';

/** Where the simulator command writes, and what stops it. */
export interface SimCliIo {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  /** `COLUMNS` sets the help's width when the output is not a terminal. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Aborting closes the server (the bin aborts on SIGINT and SIGTERM). */
  readonly signal?: AbortSignal;
  /** Called once the server listens (tests use it to reach the server without parsing stdout). */
  readonly onListening?: (info: Readonly<Record<string, unknown>>) => void;
}

type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** A service the command can simulate. */
interface SimService {
  readonly summary: string;
  /** Extra options, all string-valued. */
  readonly options: Readonly<Record<string, string>>;
  /** Builds the handlers; `info` is merged into the JSON line (after `url` and `service`). */
  create(
    values: OptionValues,
    seed: number,
    url: () => string,
  ): Promise<{
    handlers: RequestHandler[];
    info: () => Record<string, unknown>;
    /** Frees what the simulator holds (temporary files), after the server has closed. */
    dispose?: () => Promise<void>;
  }>;
}

/** A command-line mistake: printed with the usage, exit code 2. */
class UsageError extends Error {}

const DEFAULT_LIFETIME_MS = 30 * 60 * 1000;

function integer(name: string, value: string | boolean | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'string' ||
    !/^\d+$/.test(value) ||
    Number(value) < min ||
    !Number.isSafeInteger(Number(value))
  ) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return Number(value);
}

const SERVICES: Readonly<Record<string, SimService>> = {
  icsd: {
    summary: 'ICSD web service (FIZ Karlsruhe), served under /ws and /api/ws',
    options: {
      entries: 'N             number of generated entries (default 2000)',
      'cifs-per-session': 'N|unlimited   CIF quota of one session (default 1000)',
      'session-limit': 'N        live tokens per account; the next login gets 403 (default unlimited)',
      'token-lifetime': 'MS      token lifetime from login (default 3600000)',
      'over-limit': 'reject|truncate  more than 500 ids: 400 (default) or silently serve 500',
      revision: 'N            upstream changes: ~3 % of entries changed per revision, cumulative (default 0)',
      'revision-date': 'YYYY-MM-DD  modification date of the changed entries (default today, UTC)',
    },
    async create(values, seed, url) {
      const { createIcsdSimulator } = await import('./icsd/icsd-simulator.js');
      const { isIsoDate } = await import('./icsd/icsd-revisions.js');
      const entries = integer('entries', values.entries, 0);
      const quota = values['cifs-per-session'];
      const cifsPerSession = quota === 'unlimited' ? null : integer('cifs-per-session', quota, 0);
      const sessionLimit = integer('session-limit', values['session-limit'], 1);
      const tokenLifetimeMs = integer('token-lifetime', values['token-lifetime'], 1);
      const overLimit = values['over-limit'];
      if (overLimit !== undefined && overLimit !== 'reject' && overLimit !== 'truncate') {
        throw new UsageError(`--over-limit must be reject or truncate, got ${String(overLimit)}`);
      }
      const revision = integer('revision', values.revision, 0);
      if (revision !== undefined && revision > 1000) throw new UsageError('--revision must be at most 1000');
      const revisionDate = values['revision-date'];
      if (revisionDate !== undefined && (typeof revisionDate !== 'string' || !isIsoDate(revisionDate))) {
        throw new UsageError(`--revision-date must be a date YYYY-MM-DD, got ${String(revisionDate)}`);
      }
      const username = 'demo';
      const password = 'demo-password';
      const sim = createIcsdSimulator({
        seed,
        credentials: { [username]: password },
        ...(entries === undefined ? {} : { entries }),
        ...(cifsPerSession === undefined ? {} : { cifsPerSession }),
        ...(sessionLimit === undefined ? {} : { sessionLimit }),
        ...(tokenLifetimeMs === undefined ? {} : { tokenLifetimeMs }),
        ...(overLimit === undefined ? {} : { overLimit }),
        ...(revision === undefined ? {} : { revision }),
        ...(revisionDate === undefined ? {} : { revisionDate }),
      });
      return {
        handlers: sim.handlers,
        info: () => ({
          baseUrl: `${url()}/ws`,
          username,
          password,
          entries: sim.entries.length,
          maxCollectionCode: sim.entries.at(-1)?.collectionCode ?? 0,
          ...(revision === undefined ? {} : { revision, revisedEntries: sim.revisedCodes.length }),
        }),
      };
    },
  },
  crucible: {
    summary: 'Crucible (Molecular Foundry) API v2 at /api/v2 and v1 at /api/v1, signed storage at /storage',
    options: {
      datasets: 'N           number of generated datasets (default 50)',
      'ingest-ms': 'MS         time an ingestion request spends requested, then started (default 100)',
      'link-ttl': 'S           lifetime of signed URLs in seconds (default 3600)',
      multipart:
        'on|off      offer the parallel multipart upload (GCS XML API; default off); clients reach it\n' +
        '                   with STORAGE_EMULATOR_HOST set to the printed storageEmulatorHost',
    },
    async create(values, seed, url) {
      const { createCrucibleSimulator } = await import('./crucible/crucible-simulator.js');
      const datasets = integer('datasets', values.datasets, 0);
      const ingestMs = integer('ingest-ms', values['ingest-ms'], 0);
      const linkTtlSeconds = integer('link-ttl', values['link-ttl'], 1);
      const multipart = values.multipart ?? 'off';
      if (multipart !== 'on' && multipart !== 'off')
        throw new UsageError(`--multipart must be on or off, got ${String(multipart)}`);
      const sim = createCrucibleSimulator({
        ...(multipart === 'on' ? { multipart: {} } : {}),
        seed,
        ...(datasets === undefined ? {} : { datasets }),
        ...(ingestMs === undefined ? {} : { ingestionSteps: { requestedMs: ingestMs, startedMs: ingestMs } }),
        ...(linkTtlSeconds === undefined ? {} : { linkTtlSeconds }),
      });
      return {
        handlers: sim.handlers,
        // Uploaded bytes live in a temporary folder: removed when the server stops (signal or lifetime).
        dispose: () => sim.dispose(),
        info: () => ({
          apiUrl: `${url()}/api/v2`,
          apiUrlV1: `${url()}/api/v1`,
          apiKey: sim.keyFor('demo'),
          adminKey: sim.keyFor('admin'),
          outsiderKey: sim.keyFor('outsider'),
          projects: sim.projects.map((p) => p.projectId),
          datasets: sim.datasets.length,
          ...(multipart === 'on' ? { storageEmulatorHost: `${url()}/storage` } : {}),
        }),
      };
    },
  },
  fragalysis: {
    summary: 'Fragalysis stack (Diamond/XChem): targets, archive builds, uploads, served at the root',
    options: {
      'build-ms': 'MS           how long an archive build runs (default 300)',
      'max-builds': 'N          builds in flight before the POST answers 429 (default 4)',
      'page-size': 'N           DRF page size when limit is absent (default 5000)',
      mode: 'task|immediate     2026 task flow (default) or the old synchronous zip answer',
      archive: 'T|TAS=FILE[;…]  serve FILE as the archive of target T under TAS (benchmarks)',
    },
    async create(values, seed, url) {
      const { createFragalysisSimulator } = await import('./fragalysis/fragalysis-simulator.js');
      const buildMs = integer('build-ms', values['build-ms'], 0);
      const maxConcurrentBuilds = integer('max-builds', values['max-builds'], 1);
      const pageSize = integer('page-size', values['page-size'], 1);
      const mode = values.mode;
      if (mode !== undefined && mode !== 'task' && mode !== 'immediate') {
        throw new UsageError(`--mode must be task or immediate, got ${String(mode)}`);
      }
      const archiveFiles: Record<string, string> = {};
      if (values.archive !== undefined) {
        for (const item of String(values.archive).split(';').filter(Boolean)) {
          const match = /^([^|=]+)\|([^|=]+)=(.+)$/.exec(item);
          if (!match)
            throw new UsageError(`--archive must look like Title|tas=/path/file.tar.gz, got ${item}`);
          archiveFiles[`${match[1]}|${match[2]}`] = match[3] as string;
        }
      }
      const sim = createFragalysisSimulator({
        seed,
        archiveFiles,
        legacyImmediate: mode === 'immediate',
        ...(buildMs === undefined ? {} : { buildMs }),
        ...(maxConcurrentBuilds === undefined ? {} : { maxConcurrentBuilds }),
        ...(pageSize === undefined ? {} : { pageSize }),
      });
      return {
        handlers: sim.handlers,
        info: () => ({
          baseUrl: url(),
          token: sim.tokenFor('demo'),
          outsiderToken: sim.tokenFor('outsider'),
          targets: sim.targets.map((t) => ({
            title: t.title,
            tas: t.tas,
            public: sim.projects.find((p) => p.tas === t.tas)?.openToPublic ?? false,
          })),
        }),
      };
    },
  },
};

const COMMON_OPTIONS = {
  port: 'N            port on 127.0.0.1 (default: a free port)',
  seed: 'N            seed of the data and of the faults (default 1)',
  latency: 'MS|MIN-MAX  added latency on every response',
  'fail-rate': 'R       share of requests answered 500/503 (503 with Retry-After: 1)',
  lifetime: 'MS        close after this long (default 1800000, 30 minutes)',
} as const;

/** The usage text, wrapped at the width of the stream it goes to. */
function usageFor(io: SimCliIo, stream: 'stdout' | 'stderr'): string {
  return wrapHelp(usage(), helpWidth(io[stream], io.env));
}

function usage(): string {
  const lines = [
    'Usage: sciport-sim <service> [options]',
    '',
    'Serves a simulated service over HTTP on 127.0.0.1 until SIGINT/SIGTERM or the lifetime ends, after printing',
    'one JSON line on stdout: {"url", "service", …service details}.',
    '',
    'Services:',
    ...Object.entries(SERVICES).map(([name, service]) => `  ${name.padEnd(12)}${service.summary}`),
    '',
    'Options:',
    ...Object.entries(COMMON_OPTIONS).map(([name, text]) => `  --${name} ${text}`),
    '  --help           show this help',
  ];
  for (const [name, service] of Object.entries(SERVICES)) {
    lines.push(
      '',
      `Options of ${name}:`,
      ...Object.entries(service.options).map(([o, text]) => `  --${o} ${text}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

function parseLatency(value: string | boolean | undefined): FaultRule | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? /^(\d+)(?:-(\d+))?$/.exec(value) : null;
  if (match === null || (match[2] !== undefined && Number(match[2]) < Number(match[1]))) {
    throw new UsageError(`--latency must be milliseconds or a range MIN-MAX, got ${String(value)}`);
  }
  const min = Number(match[1]);
  return { latencyMs: match[2] === undefined ? min : [min, Number(match[2])] };
}

function parseFailRate(value: string | boolean | undefined): FaultRule | undefined {
  if (value === undefined) return undefined;
  const rate = typeof value === 'string' && /^\d*\.?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(rate >= 0 && rate <= 1))
    throw new UsageError(`--fail-rate must be a number from 0 to 1, got ${String(value)}`);
  return { failRate: rate, failStatus: [500, 503], retryAfter: 1 };
}

/**
 * Runs `sciport-sim <service> [options]`: starts the simulator on 127.0.0.1, prints one JSON line, and resolves
 * with the exit code once the server has closed (signal, or end of the lifetime). Usage errors resolve 2 at once.
 */
export async function runSimCli(argv: readonly string[], io: SimCliIo): Promise<number> {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let lifetimeMs: number;
  let dispose: (() => Promise<void>) | undefined;
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const stream = name === undefined ? 'stderr' : 'stdout';
      io[stream].write(usageFor(io, stream));
      return name === undefined ? 2 : 0;
    }
    const service = SERVICES[name];
    if (service === undefined)
      throw new UsageError(`unknown service "${name}" (known: ${Object.keys(SERVICES).join(', ')})`);
    const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
    for (const option of [...Object.keys(COMMON_OPTIONS), ...Object.keys(service.options)]) {
      options[option] = { type: 'string' };
    }
    let values: OptionValues;
    try {
      // No option is `multiple`, so every value is a string or a boolean.
      values = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false })
        .values as OptionValues;
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    if (values.help === true) {
      io.stdout.write(usageFor(io, 'stdout'));
      return 0;
    }
    const port = integer('port', values.port, 0) ?? 0;
    if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
    const seed = integer('seed', values.seed, 0) ?? 1;
    lifetimeMs = integer('lifetime', values.lifetime, 1) ?? DEFAULT_LIFETIME_MS;
    const faults = [parseFailRate(values['fail-rate']), parseLatency(values.latency)].filter(
      (rule): rule is FaultRule => rule !== undefined,
    );
    let url = '';
    const created = await service.create(values, seed, () => url);
    const { handlers, info } = created;
    dispose = created.dispose;
    server = await startTestServer({
      handlers,
      faults,
      seed,
      port,
      lifetimeMs: Number.POSITIVE_INFINITY,
      unref: false,
    });
    url = server.url;
    const line = { url: server.url, service: name, ...info() };
    io.stdout.write(`${JSON.stringify(line)}\n`);
    io.onListening?.(line);
  } catch (error) {
    await dispose?.().catch(() => undefined);
    if (error instanceof UsageError) {
      io.stderr.write(`sciport-sim: ${error.message}\n\n${usageFor(io, 'stderr')}`);
      return 2;
    }
    io.stderr.write(`sciport-sim: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      clearTimeout(timer);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    const timer = setTimeout(
      () => {
        io.stderr.write(`sciport-sim: lifetime of ${lifetimeMs} ms reached, closing\n`);
        stop();
      },
      Math.min(lifetimeMs, 2_147_483_647),
    );
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
  await dispose?.();
  return 0;
}
