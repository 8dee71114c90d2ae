// The pinned Packer, installed by scripts/tools/packer.sh when absent, and the
// environment it needs to find its plugin and stay offline.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PACKER_DIR = 'packer';

let installed = false;

/** Environment for running the project's Packer (installing it first when absent). */
export function packerEnv(): NodeJS.ProcessEnv {
  if (!installed) {
    execFileSync('bash', ['scripts/tools/packer.sh'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    installed = true;
  }
  return {
    ...process.env,
    PATH: `${REPO_ROOT}.tools/bin:${process.env.PATH ?? ''}`,
    PACKER_PLUGIN_PATH: `${REPO_ROOT}.tools/packer-plugins`,
    CHECKPOINT_DISABLE: '1',
  };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runPacker(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const result = spawnSync(`${REPO_ROOT}.tools/bin/packer`, args, {
    cwd: REPO_ROOT,
    env: options.env ?? packerEnv(),
    input: options.input,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
