/**
 * Settings and credentials on disk (node only): `configDir`, `ConfigStore`, and the option > env > config
 * lookup used by every client and command (`resolveCredential`, `requireCredential`).
 */
export { configDir, type Environment } from './config-dir.js';
export {
  CONFIG_DIR_MODE,
  CONFIG_FILE,
  CONFIG_MODE,
  type ConfigEntry,
  ConfigFileError,
  type ConfigPaths,
  ConfigStore,
  type ConfigStoreOptions,
  CREDENTIALS_FILE,
  CREDENTIALS_MODE,
  isSecretKey,
  validateConfigKey,
} from './config-store.js';
export {
  type CredentialSource,
  type RequireCredentialOptions,
  type ResolveCredentialOptions,
  type ResolvedCredential,
  requireCredential,
  resolveCredential,
} from './resolve-credential.js';
