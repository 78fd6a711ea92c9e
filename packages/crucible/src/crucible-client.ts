import {
  bearerAuth,
  createHttpClient,
  type HttpClient,
  MissingCredentialsError,
  NotFoundError,
  readSetting,
  registerSecret,
  UsageError,
} from '@sciport/core';
import { z } from 'zod';
import {
  type ApiVersion,
  type CallOptions,
  type Context,
  type CrucibleEvent,
  getRecord,
  id,
} from './context.js';
import { CRUCIBLE_SETTINGS, DEFAULT_CRUCIBLE_BASE_URL } from './credentials.js';
import { Instruments, Projects, Samples, Users } from './resources/catalog.js';
import { Datasets } from './resources/datasets.js';
import { Files, type RequestOutcome, Requests, type WaitForRequestOptions } from './resources/files.js';

declare const __SCIPORT_CRUCIBLE_VERSION__: string | undefined;
export const CRUCIBLE_VERSION: string =
  typeof __SCIPORT_CRUCIBLE_VERSION__ === 'string' ? __SCIPORT_CRUCIBLE_VERSION__ : '0.0.0-dev';

/** @deprecated The live API; use `DEFAULT_CRUCIBLE_BASE_URL`. */
export const DEFAULT_CRUCIBLE_API_URL = DEFAULT_CRUCIBLE_BASE_URL;

export interface CrucibleClientOptions {
  /**
   * The API URL with its path prefix (`https://crucible.lbl.gov/api/v2`); every path is appended to it.
   * Default `CRUCIBLE_API_URL`, else the live v2 API.
   */
  apiUrl?: string;
  /** Default `CRUCIBLE_API_KEY`. Sent only to the API host, never to storage. */
  apiKey?: string;
  /** `v2` or `v1`; by default read from the URL (`/api/v2`; `/api/v1`, `/testapi…` → v1), else v2. */
  apiVersion?: ApiVersion;
  timeout?: number;
  maxRetries?: number;
  fetch?: typeof globalThis.fetch;
  userAgent?: string;
  /** Items per page when listing (default and maximum 1000). */
  pageSize?: number;
  onEvent?: (event: CrucibleEvent) => void;
}

/** The API version an URL implies, if it says. */
export function versionFromUrl(apiUrl: string): ApiVersion | undefined {
  const path = new URL(apiUrl).pathname.replace(/\/+$/, '');
  if (/\/v2$/.test(path)) return 'v2';
  if (/\/v1$/.test(path) || /\/testapi(-staging)?$/.test(path)) return 'v1';
  return undefined;
}

/**
 * A client for Crucible, the Molecular Foundry data lakehouse. API v2 by default; v1 deployments work behind the
 * same methods. The API key goes only to the API host: signed storage URLs are fetched by a separate client
 * without credentials.
 */
export class CrucibleClient {
  readonly apiUrl: string;
  readonly apiVersion: ApiVersion;
  readonly datasets: Datasets;
  readonly samples: Samples;
  readonly instruments: Instruments;
  readonly projects: Projects;
  readonly users: Users;
  readonly files: Files;
  readonly requests: Requests;
  protected readonly ctx: Context;
  protected readonly http: HttpClient;
  /** For signed storage URLs: no credentials, ever. */
  protected readonly storage: HttpClient;
  private readonly listeners = new Set<(event: CrucibleEvent) => void>();

  /**
   * `transport` is for the Node entry point: the `fetch`es for upload chunks and downloads (see
   * `nodeTransferFetch`, `nodeDownloadFetch`).
   */
  constructor(
    options: CrucibleClientOptions = {},
    transport: { transferFetch?: typeof globalThis.fetch; downloadFetch?: typeof globalThis.fetch } = {},
  ) {
    this.apiUrl = (
      options.apiUrl ??
      readSetting(CRUCIBLE_SETTINGS.baseUrl) ??
      DEFAULT_CRUCIBLE_BASE_URL
    ).replace(/\/+$/, '');
    let detected: ApiVersion | undefined;
    try {
      detected = versionFromUrl(this.apiUrl);
    } catch {
      throw new UsageError(`Invalid Crucible API URL ${JSON.stringify(this.apiUrl)}`);
    }
    if (options.apiVersion && detected && options.apiVersion !== detected) {
      throw new UsageError(
        `The API URL ${this.apiUrl} is ${detected}, but apiVersion says ${options.apiVersion}`,
      );
    }
    this.apiVersion = options.apiVersion ?? detected ?? 'v2';
    const apiKey = options.apiKey ?? readSetting(CRUCIBLE_SETTINGS.apiKey);
    registerSecret(apiKey);
    if (options.onEvent) this.listeners.add(options.onEvent);
    const emit = (event: CrucibleEvent) => {
      for (const l of this.listeners) {
        try {
          l(event);
        } catch {
          // listeners never break a call
        }
      }
    };
    const common = {
      maxRetries: options.maxRetries ?? 3,
      client: { name: '@sciport/crucible', version: CRUCIBLE_VERSION },
      onEvent: emit,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    };
    this.http = createHttpClient({
      ...common,
      baseUrl: this.apiUrl,
      service: 'crucible',
      auth: apiKey ? bearerAuth(apiKey) : missingKey(),
      headers: { accept: 'application/json' },
      timeout: options.timeout ?? 60_000,
    });
    this.storage = createHttpClient({
      ...common,
      baseUrl: 'https://storage.invalid',
      service: 'storage',
      // A caller's own fetch carries everything; otherwise upload chunks and downloads go through the
      // transport's.
      ...(!options.fetch && transport.transferFetch ? { transferFetch: transport.transferFetch } : {}),
      ...(!options.fetch && transport.downloadFetch ? { downloadFetch: transport.downloadFetch } : {}),
      // Per request: chunk uploads and downloads set their own (idle) timeouts.
      timeout: options.timeout ?? 10 * 60_000,
    });
    this.ctx = {
      http: this.http,
      version: this.apiVersion,
      apiUrl: this.apiUrl,
      pageSize: Math.min(1000, Math.max(1, options.pageSize ?? 1000)),
      maxRetries: Math.max(0, options.maxRetries ?? 3),
      emit,
    };
    this.datasets = new Datasets(this.ctx);
    this.samples = new Samples(this.ctx);
    this.instruments = new Instruments(this.ctx);
    this.projects = new Projects(this.ctx);
    this.users = new Users(this.ctx);
    this.files = new Files(this.ctx);
    this.requests = new Requests(this.ctx);
  }

  onEvent(listener: (event: CrucibleEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * What kind of record an id names (dataset, sample, instrument) and its project. v2: `GET /resources/{id}`;
   * v1, which has no such lookup: the dataset, else the sample, of that id.
   */
  async resource(
    resourceId: string,
    options: CallOptions = {},
  ): Promise<{ type: string; projectId: string | undefined; record: Record<string, unknown> }> {
    const schema = z.looseObject({
      resource_type: z.string().nullable().optional(),
      project_id: z.string().nullable().optional(),
    });
    if (this.apiVersion === 'v2') {
      const r = await getRecord(
        this.ctx,
        `resources/${id(resourceId, 'id')}`,
        schema,
        `record ${resourceId}`,
        options,
      );
      return { type: r.resource_type ?? 'dataset', projectId: r.project_id ?? undefined, record: r };
    }
    try {
      const d = await this.datasets.get(resourceId, options);
      return { type: 'dataset', projectId: d.project_id ?? undefined, record: d };
    } catch (error) {
      if (!NotFoundError.isInstance(error)) throw error;
    }
    const sample = await this.samples.get(resourceId, options);
    return { type: 'sample', projectId: sample.project_id ?? undefined, record: sample };
  }

  /**
   * Waits for an ingestion (or, on v1, SciCat) request to end: `requests.wait` under the name the reference
   * client's users look for. On v1 pass the request's `datasetId` (and `kind: 'scicat'` for SciCat requests).
   */
  waitForRequest(
    requestId: number,
    options: WaitForRequestOptions & { datasetId?: string; kind?: 'ingest' | 'scicat' } = {},
  ): Promise<RequestOutcome> {
    return this.requests.wait(requestId, options);
  }

  get apiKeyPage(): string {
    return `${this.apiUrl}/auth/apikey`;
  }
}

/** An auth strategy that explains what to set, raised at the first call. */
function missingKey() {
  return {
    kind: 'missing',
    apply() {
      throw new MissingCredentialsError('No Crucible API key', {
        hint: 'Set CRUCIBLE_API_KEY or run `sciport config set crucible.apiKey` (a key is issued at <api url>/auth/apikey)',
      });
    },
  };
}
