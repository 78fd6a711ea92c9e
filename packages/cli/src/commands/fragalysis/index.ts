import { FRAGALYSIS_SETTINGS } from '@sciport/fragalysis';
import type { CommandModule } from '../../program.js';
import { registerCheck } from './check.js';
import { registerCsets } from './csets.js';
import { registerDownload } from './download.js';
import { registerSmiles } from './smiles.js';
import { registerSync } from './sync.js';
import { registerTargets } from './targets.js';
import { registerUpload } from './upload.js';
import { registerUploads } from './uploads.js';
import { registerWhoami } from './whoami.js';

/**
 * `sciport fragalysis targets|download|uploads|sync|smiles|whoami`: a thin layer over `@sciport/fragalysis`.
 *
 * Token: `FRAGALYSIS_TOKEN`, else `sciport config set fragalysis.token` (the `sessionid` cookie value from
 * `<stack>/api/token/`); without one, public proposals only. Stack: `--stack`, `FRAGALYSIS_STACK` or
 * `fragalysis.stack` (production, staging, legacy or a URL). One command a file; what they share is in
 * `shared.ts`.
 */
export const register: CommandModule['register'] = (command, api) => {
  const { stack, token, accessToken } = FRAGALYSIS_SETTINGS;
  command.addHelpText(
    'after',
    `\nToken: ${token.env} or \`sciport config set ${token.configKey}\` (from <stack>/api/token/ while logged in),\n` +
      `or an OIDC access token: ${accessToken.env} or \`sciport config set ${accessToken.configKey}\` (not both);\n` +
      `without it, public proposals only. Stack: --stack, ${stack.env} or ${stack.configKey}.`,
  );
  registerWhoami(command, api);
  registerTargets(command, api);
  registerDownload(command, api);
  registerUploads(command, api);
  registerSync(command, api);
  registerSmiles(command, api);
  registerUpload(command, api); // issue 14: xca
  registerCsets(command, api);
  registerCheck(command, api);
};
