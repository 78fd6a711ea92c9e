import type { CommandModule } from '../../program.js';
import { registerCite } from './cite.js';
import { registerExport } from './export.js';
import { registerFetch } from './fetch.js';
import { registerFields } from './fields.js';
import { registerLogin } from './login.js';
import { registerLogout } from './logout.js';
import { registerMirror } from './mirror.js';
import { registerSearch } from './search.js';
import { settingsHelp } from './shared.js';
import { registerStructure } from './structure.js';

/**
 * `sciport icsd login|logout|search|fetch|mirror|fields|cite|structure|export`: a thin layer over `@sciport/icsd`, one command a file.
 *
 * Credentials and server: flag > environment > config file, by the names of the package's `ICSD_SETTINGS`.
 * The session is logged out however the command ends (success, error, Ctrl-C), unless it is the one
 * `sciport icsd login` kept (then `sciport icsd logout` ends it).
 */
export const register: CommandModule['register'] = (command, api) => {
  command.addHelpText('after', settingsHelp());
  registerLogin(command, api);
  registerLogout(command, api);
  registerSearch(command, api);
  registerFetch(command, api);
  registerMirror(command, api);
  registerFields(command, api);
  registerCite(command, api);
  registerStructure(command, api);
  registerExport(command, api);
};
