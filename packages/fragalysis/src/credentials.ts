import { defineSettings } from '@sciport/core';

/**
 * Where the Fragalysis client (and the CLI) find the stack and the token when they are not passed: the
 * environment variables and `sciport config` keys, named once here.
 */
export const FRAGALYSIS_SETTINGS = defineSettings({
  stack: {
    env: 'FRAGALYSIS_STACK',
    configKey: 'fragalysis.stack',
    secret: false,
    label: 'Fragalysis stack',
  },
  token: { env: 'FRAGALYSIS_TOKEN', configKey: 'fragalysis.token', secret: true, label: 'Fragalysis token' },
});
