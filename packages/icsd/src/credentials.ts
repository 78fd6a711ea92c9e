import { defineSettings } from '@sciport/core';

/**
 * Where the ICSD client finds its URL and credentials when they are not passed: the environment variables and
 * `sciport config` keys, named once here for the client and the CLI.
 */
export const ICSD_SETTINGS = defineSettings({
  baseUrl: { env: 'ICSD_BASE_URL', configKey: 'icsd.baseUrl', secret: false, label: 'ICSD API URL' },
  username: { env: 'ICSD_USERNAME', configKey: 'icsd.username', secret: false, label: 'ICSD username' },
  password: { env: 'ICSD_PASSWORD', configKey: 'icsd.password', secret: true, label: 'ICSD password' },
});

/** The live service's API base (`…/api/ws` works too). */
export const DEFAULT_ICSD_BASE_URL = 'https://icsd.fiz-karlsruhe.de/ws';
