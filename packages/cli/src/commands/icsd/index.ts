import type { CommandModule } from '../../program.js';
import { registerExport } from './export.js';
import { registerFetch } from './fetch.js';
import { registerFields } from './fields.js';
import { registerLogin } from './login.js';
import { registerMirror } from './mirror.js';
import { registerSearch } from './search.js';
import { settingsHelp } from './shared.js';
import { registerStructure } from './structure.js';

/**
 * `sciport icsd login|search|fetch|mirror|fields`: a thin layer over `@sciport/icsd`, one command a file.
 *
 * Credentials and server: flag > environment > config file, by the names of the package's `ICSD_SETTINGS`.
 * The session is logged out however the command ends (success, error, Ctrl-C).
 */
export const register: CommandModule['register'] = (command, api) => {
  command.addHelpText('after', settingsHelp());
  registerLogin(command, api);
  registerSearch(command, api);
  registerFetch(command, api);
  registerMirror(command, api);
  registerFields(command, api);
  registerStructure(command, api);
  registerExport(command, api);
};
