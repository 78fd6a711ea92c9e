import { type CrucibleRequest, RequestFailedError } from '@sciport/crucible';
import type { Command } from 'commander';
import { printJson, printNdjson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import {
  type ApiOptions,
  apiOptions,
  describeRequest,
  filesToIngest,
  makeClient,
  waitAndReport,
} from './shared.js';

/** `sciport crucible ingest: request ingestion of a file or of a dataset's files`. */
export function registerIngest(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('ingest')
      .description(
        "request ingestion of a file or of a dataset's files (v2: one request per file; v1: per dataset)",
      )
      .argument('<dataset-or-file>', 'dataset id, or (v2) file id')
      .option('--class <name>', 'ingestion class (e.g. ApiUploadIngestor; default: the server picks)')
      .option('--file <name>', 'v1: the uploaded file (api-uploads/<name>)')
      .option('--wait', 'wait for the request to end')
      .option('--max-wait <seconds>', 'give up waiting after this long (default 1800)'),
  ).action(
    action(
      async (
        ctx,
        target: string,
        o: ApiOptions & { class?: string; file?: string; wait?: boolean; maxWait?: string },
      ) => {
        const client = await makeClient(ctx, o);
        const ingestionClass = o.class ? { ingestionClass: o.class } : {};
        if (client.apiVersion === 'v2') {
          // v2 ingests files: a file id is one request, a dataset id one per file not yet ingested.
          const fileIds = await filesToIngest(client, target, ctx.signal);
          const requests: CrucibleRequest[] = [];
          for (const fileId of fileIds) {
            requests.push(
              await client.requests.ingest({ fileId }, { signal: ctx.signal, ...ingestionClass }),
            );
          }
          if (!o.wait) {
            for (const r of requests) {
              if (ctx.json) printNdjson(ctx.out, describeRequest(r));
              else ctx.out.write(`${r.id}\n`);
            }
            return;
          }
          let failed: RequestFailedError | undefined;
          for (const r of requests) {
            try {
              await waitAndReport(ctx, client, r.id, o.maxWait, undefined);
            } catch (error) {
              if (!(error instanceof RequestFailedError)) throw error;
              failed ??= error;
            }
          }
          if (failed) throw failed;
          return;
        }
        const request = await client.requests.ingest(
          {
            datasetId: target,
            ...(o.file
              ? { fileToUpload: o.file.startsWith('api-uploads/') ? o.file : `api-uploads/${o.file}` }
              : {}),
          },
          { signal: ctx.signal, ...ingestionClass },
        );
        if (!o.wait) {
          if (ctx.json) printJson(ctx.out, describeRequest(request));
          else ctx.out.write(`${request.id}\n`);
          return;
        }
        await waitAndReport(ctx, client, request.id, o.maxWait, target);
      },
    ),
  );
}
