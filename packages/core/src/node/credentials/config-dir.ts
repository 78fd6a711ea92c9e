import os from 'node:os';
import path from 'node:path';

export type Environment = Record<string, string | undefined>;

/**
 * The folder holding sciport's `config.json` and `credentials.json`:
 * `$SCIPORT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/sciport`, else `~/.config/sciport` (`%APPDATA%\sciport` on
 * Windows). Empty variables count as unset; a relative `XDG_CONFIG_HOME` is ignored, as the XDG spec asks.
 *
 * @param platform only for tests: which platform's default to use.
 */
export function configDir(
  env: Environment = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  const explicit = env.SCIPORT_CONFIG_DIR;
  if (explicit) return path.resolve(explicit);
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && (path.isAbsolute(xdg) || path.win32.isAbsolute(xdg))) return path.join(xdg, 'sciport');
  if (platform === 'win32') {
    const appData = env.APPDATA;
    if (appData) return path.win32.join(appData, 'sciport');
    return path.win32.join(env.USERPROFILE || os.homedir(), 'AppData', 'Roaming', 'sciport');
  }
  return path.join(env.HOME || os.homedir(), '.config', 'sciport');
}
