import { defineSettings } from '@sciport/core';

/**
 * Where the Crucible client (and the CLI) find the API URL, the key and the explorer when they are not passed:
 * the environment variables and `sciport config` keys, named once here.
 */
export const CRUCIBLE_SETTINGS = defineSettings({
  baseUrl: {
    env: 'CRUCIBLE_API_URL',
    configKey: 'crucible.apiUrl',
    secret: false,
    label: 'Crucible API URL',
  },
  apiKey: { env: 'CRUCIBLE_API_KEY', configKey: 'crucible.apiKey', secret: true, label: 'Crucible API key' },
  explorerUrl: {
    env: 'CRUCIBLE_GRAPH_EXPLORER_URL',
    envAliases: ['CRUCIBLE_EXPLORER_URL'],
    configKey: 'crucible.explorerUrl',
    secret: false,
    label: 'Crucible explorer URL',
  },
  currentProject: {
    env: 'CRUCIBLE_CURRENT_PROJECT',
    configKey: 'crucible.currentProject',
    secret: false,
    label: 'Crucible project',
  },
});

/** The live API (v2). */
export const DEFAULT_CRUCIBLE_BASE_URL = 'https://crucible.lbl.gov/api/v2';
