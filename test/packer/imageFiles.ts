// Where the files that go into the image live in the repo, and where the
// image puts them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './packerTool.js';
import { parseUnitFile, type UnitFile } from './systemdFiles.js';

export const IMAGE_FILES = join(REPO_ROOT, 'packer', 'files');
export const UNIT_PATH = join(IMAGE_FILES, 'chat.service');
export const SYSCTL_PATH = join(IMAGE_FILES, '99-chat.conf');
export const CLOUDWATCH_TEMPLATE_PATH = join(IMAGE_FILES, 'cloudwatch-agent.json');
export const CONFIGURE_LOGS_PATH = join(IMAGE_FILES, 'chat-configure-logs');
export const SCRAPE_TEMPLATE_PATH = join(IMAGE_FILES, 'prometheus-scrape.yaml');
export const LIVENESS_PATH = join(IMAGE_FILES, 'chat-liveness');
export const LIVENESS_UNIT_PATH = join(IMAGE_FILES, 'chat-liveness.service');

/** Where the AMI installs the bundle; every path the unit names below it maps to a test directory. */
export const INSTALL_DIR = '/opt/chat';

export function readUnit(): UnitFile {
  return parseUnitFile(readFileSync(UNIT_PATH, 'utf8'));
}

/** sysctl.d lines as key → value. */
export function readSysctl(): Map<string, string> {
  const settings = new Map<string, string>();
  for (const raw of readFileSync(SYSCTL_PATH, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`not a sysctl setting: ${raw}`);
    settings.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim().replace(/\s+/g, ' '));
  }
  return settings;
}

/** Replaces the install prefix in a path the unit names with a local directory. */
export function relocate(path: string, localInstallDir: string): string {
  return path === INSTALL_DIR || path.startsWith(`${INSTALL_DIR}/`) ? localInstallDir + path.slice(INSTALL_DIR.length) : path;
}
