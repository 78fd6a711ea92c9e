import {
  bearerAuth,
  type ClientOptions,
  createHttpClient,
  EventEmitter,
  logEvents,
  MissingCredentialsError,
  type RequestOptions,
  readSetting,
  registerSecret,
  type Transport,
  UsageError,
} from '@sciport/core';
import { CRUCIBLE_SETTINGS, DEFAULT_CRUCIBLE_BASE_URL } from './credentials.js';
import { checkApiUrl, versionFromUrl } from './internal/api-url.js';
import type { ApiVersion, Context, CrucibleEvent } from './internal/context.js';

export { versionFromUrl };

import { Access } from './resources/access.js';
import { Datasets } from './resources/datasets.js';
import { Files } from './resources/files.js';
import { Instruments } from './resources/instruments.js';
import { Keywords } from './resources/keywords.js';
import { Projects } from './resources/projects.js';
import { Requests } from './resources/requests.js';
import { Resources } from './resources/resources.js';
import { Samples } from './resources/samples.js';
import { type CrucibleStatus, serviceStatus } from './resources/status.js';
import { Thumbnails } from './resources/thumbnails.js';
import { Users } from './resources/users.js';

declare const __SCIPORT_CRUCIBLE_VERSION__: string | undefined;
export const CRUCIBLE_VERSION: string =
  typeof __SCIPORT_CRUCIBLE_VERSION__ === 'string' ? __SCIPORT_CRUCIBLE_VERSION__ : '0.0.0-dev';

export interface CrucibleClientOptions extends ClientOptions {
  /**
   * The API URL with its path prefix (`https://crucible.lbl.gov/api/v2`); every path is appended to it.
   * Default `CRUCIBLE_API_URL`, else the live v2 API.
   */
  baseUrl?: string | undefined;
  /** Default `CRUCIBLE_API_KEY`. Sent only to the API host, never to storage. */
  apiKey?: string | undefined;
  /** `v2` or `v1`; by default read from the URL (`/api/v2`; `/api/v1`, `/testapi…` → v1), else v2. */
  apiVersion?: ApiVersion | undefined;
  /** Items per page when listing (default and maximum 1000). */
  pageSize?: number | undefined;
  /** Receives every event of the client (requests, retries, request statuses, warnings). */
  onEvent?: ((event: CrucibleEvent) => void) | undefined;
}

/**
 * A client for Crucible, the Molecular Foundry data lakehouse. API v2 by default; v1 deployments work behind the
 * same methods. The API key goes only to the API host: signed storage URLs are fetched by a separate client
 * without credentials. This is the client of the browser entry point; on Node, `datasets` and `files` have
 * the methods that read and write files too.
 */
export class CrucibleClient {
  readonly baseUrl: string;
  readonly apiVersion: ApiVersion;
  readonly datasets: Datasets;
  readonly keywords: Keywords;
  readonly thumbnails: Thumbnails;
  readonly samples: Samples;
  readonly instruments: Instruments;
  readonly projects: Projects;
  readonly users: Users;
  readonly access: Access;
  readonly files: Files;
  readonly requests: Requests;
  readonly resources: Resources;
  protected readonly ctx: Context;
  readonly #events = new EventEmitter<CrucibleEvent>();

  constructor(options: CrucibleClientOptions = {}, transport: Transport = {}) {
    this.baseUrl = (
      options.baseUrl ??
      readSetting(CRUCIBLE_SETTINGS.baseUrl) ??
      DEFAULT_CRUCIBLE_BASE_URL
    ).replace(/\/+$/, '');
    let detected: ApiVersion | undefined;
    try {
      detected = versionFromUrl(this.baseUrl);
    } catch {
      throw new UsageError(`Invalid Crucible API URL ${JSON.stringify(this.baseUrl)}`);
    }
    if (options.apiVersion && detected && options.apiVersion !== detected) {
      throw new UsageError(
        `The API URL ${this.baseUrl} is ${detected}, but apiVersion says ${options.apiVersion}`,
      );
    }
    checkApiUrl(this.baseUrl, options.apiVersion);
    this.apiVersion = options.apiVersion ?? detected ?? 'v2';
    const apiKey = options.apiKey ?? readSetting(CRUCIBLE_SETTINGS.apiKey);
    registerSecret(apiKey);
    if (options.onEvent) this.#events.on(options.onEvent);
    if (options.logger) this.#events.on(logEvents(options.logger));
    const maxRetries = Math.max(0, options.maxRetries ?? 3);
    const common = {
      maxRetries,
      client: { name: '@sciport/crucible', version: CRUCIBLE_VERSION },
      onEvent: (event: CrucibleEvent) => this.#events.emit(event),
      fetch: transport.fetch ?? options.fetch,
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    };
    const http = createHttpClient({
      ...common,
      baseUrl: this.baseUrl,
      service: 'crucible',
      baseUrlSetting: CRUCIBLE_SETTINGS.baseUrl.env,
      auth: apiKey ? bearerAuth(apiKey) : missingKey(),
      headers: { accept: 'application/json' },
      timeout: options.timeout ?? 60_000,
    });
    // Signed storage URLs: no credentials, ever. Upload chunks and downloads go through the transport's own
    // fetches (a caller's `fetch` carries everything).
    const storage = createHttpClient({
      ...common,
      baseUrl: 'https://storage.invalid',
      service: 'storage',
      transferFetch: transport.transferFetch,
      downloadFetch: transport.downloadFetch,
      timeout: options.timeout ?? 10 * 60_000,
    });
    this.ctx = {
      http,
      storage,
      version: this.apiVersion,
      baseUrl: this.baseUrl,
      pageSize: Math.min(1000, Math.max(1, options.pageSize ?? 1000)),
      maxRetries,
      events: this.#events,
    };
    this.datasets = this.createDatasets(this.ctx);
    this.keywords = new Keywords(this.ctx);
    this.thumbnails = new Thumbnails(this.ctx);
    this.samples = new Samples(this.ctx);
    this.instruments = new Instruments(this.ctx);
    this.projects = new Projects(this.ctx);
    this.users = new Users(this.ctx);
    this.access = new Access(this.ctx);
    this.files = this.createFiles(this.ctx);
    this.requests = new Requests(this.ctx);
    this.resources = new Resources(this.ctx);
  }

  /** The resource of datasets (the Node client's has `download` and `createFromFiles`). */
  protected createDatasets(ctx: Context): Datasets {
    return new Datasets(ctx);
  }

  /** The resource of files (the Node client's has `upload`). */
  protected createFiles(ctx: Context): Files {
    return new Files(ctx);
  }

  /** Subscribes to the client's events; returns the function that unsubscribes. */
  onEvent(listener: (event: CrucibleEvent) => void): () => void {
    return this.#events.on(listener);
  }

  /** The page where a user gets an API key (ORCID login). */
  get apiKeyPage(): string {
    return `${this.baseUrl}/auth/apikey`;
  }

  // issue 13: basics
  /**
   * The service's health and whether the key works (spec §19.7): `GET /health/live` and `GET /health/ready`
   * without the key, then `GET /account` with it. A failed check is reported in the result, not thrown.
   */
  async status(options: RequestOptions = {}): Promise<CrucibleStatus> {
    return serviceStatus(this.ctx, options);
  }

  /** Releases the client (Crucible keys hold no session: nothing to log out of). Safe to call twice. */
  async dispose(): Promise<void> {
    await Promise.all([this.ctx.http.dispose(), this.ctx.storage.dispose()]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
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
