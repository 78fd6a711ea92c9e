import { CRUCIBLE_SETTINGS, DEFAULT_CRUCIBLE_BASE_URL } from '@sciport/crucible';
import type { CommandModule } from '../../program.js';
import { registerApply } from './apply.js';
import { registerDatasets } from './datasets.js';
import { registerDownload } from './download.js';
import { registerFiles } from './files.js';
import { registerIngest } from './ingest.js';
import { registerInstruments } from './instruments.js';
import { registerKeywords } from './keywords.js';
import { registerLinkDatasets } from './link-datasets.js';
import { registerMetadata } from './metadata.js';
import { registerOpen } from './open.js';
import { registerProjects } from './projects.js';
import { registerSamples } from './samples.js';
import { registerSearch } from './search.js';
import { registerStatus } from './status.js';
import { registerTree } from './tree.js';
import { registerUpload } from './upload.js';
import { registerWait } from './wait.js';
import { registerWhoami } from './whoami.js';

/**
 * `sciport crucible …`: datasets, files, metadata, keywords, samples, instruments, projects, ingestion.
 * Key: `CRUCIBLE_API_KEY` or `sciport config set crucible.apiKey`. URL: `CRUCIBLE_API_URL`, `crucible.apiUrl`
 * or `--api-url` (the full base, `…/api/v2` or `…/api/v1`); `--api-version` when the URL does not say. One
 * command group a file; what they share is in `shared.ts`.
 */
export const register: CommandModule['register'] = (command, api) => {
  const { apiKey, baseUrl } = CRUCIBLE_SETTINGS;
  command.addHelpText(
    'after',
    `\nKey: ${apiKey.env} or \`sciport config set ${apiKey.configKey}\`. URL: ${baseUrl.env} or --api-url\n` +
      `(the full base: ${DEFAULT_CRUCIBLE_BASE_URL}, or …/api/v1 for older deployments).`,
  );
  registerWhoami(command, api);
  registerDatasets(command, api);
  registerUpload(command, api);
  registerDownload(command, api);
  registerMetadata(command, api);
  registerKeywords(command, api);
  registerSamples(command, api);
  registerLinkDatasets(command, api);
  registerInstruments(command, api);
  registerProjects(command, api);
  registerIngest(command, api);
  registerWait(command, api);
  registerOpen(command, api);
  // issue 13: basics
  registerSearch(command, api);
  registerStatus(command, api);
  // issue 13: graph
  registerTree(command, api);
  registerFiles(command, api);
  registerApply(command, api);
};
