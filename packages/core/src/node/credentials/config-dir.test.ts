import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDir } from './config-dir.js';

describe('configDir', () => {
  it('prefers SCIPORT_CONFIG_DIR, resolved to an absolute path', () => {
    expect(configDir({ SCIPORT_CONFIG_DIR: '/opt/sciport', XDG_CONFIG_HOME: '/xdg' }, 'linux')).toBe(
      path.resolve('/opt/sciport'),
    );
    expect(configDir({ SCIPORT_CONFIG_DIR: 'rel/dir' }, 'linux')).toBe(path.resolve('rel/dir'));
  });

  it('uses $XDG_CONFIG_HOME/sciport next', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/home/u/.xdg', HOME: '/home/u' }, 'linux')).toBe(
      path.join('/home/u/.xdg', 'sciport'),
    );
  });

  it('ignores empty variables and a relative XDG_CONFIG_HOME', () => {
    expect(configDir({ SCIPORT_CONFIG_DIR: '', XDG_CONFIG_HOME: '', HOME: '/home/u' }, 'linux')).toBe(
      path.join('/home/u', '.config', 'sciport'),
    );
    expect(configDir({ XDG_CONFIG_HOME: 'relative/xdg', HOME: '/home/u' }, 'linux')).toBe(
      path.join('/home/u', '.config', 'sciport'),
    );
  });

  it('falls back to ~/.config/sciport using the home folder', () => {
    expect(configDir({}, 'linux')).toBe(path.join(os.homedir(), '.config', 'sciport'));
  });

  it('uses %APPDATA%\\sciport on Windows', () => {
    expect(configDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32')).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\sciport',
    );
  });
});
