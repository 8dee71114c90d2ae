// A throwaway copy of the project in which deploy scripts and workflow steps
// run against the recording stand-ins of terraform, gh, aws and npm
// (test/stand-ins/): the files git would commit, with node_modules and .tools
// linked, and a PATH that finds the stand-ins first.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const standIns = join(repoRoot, 'test', 'stand-ins');

/** One invocation a stand-in recorded. */
export interface Call {
  readonly tool: 'terraform' | 'gh' | 'aws' | 'npm';
  readonly argv: string[];
  readonly cwd: string;
  readonly exitCode: number;
  readonly env?: Record<string, string>;
  readonly backend?: { type: string; settings: Record<string, unknown> };
  readonly planFile?: { path: string; sha256: string };
  readonly lockFile?: string;
  readonly error?: string;
  readonly [key: string]: unknown;
}

export interface Sandbox {
  /** The project copy: the working directory of every command. */
  readonly dir: string;
  /** Where the stand-ins keep their record, the fake S3 buckets, GitHub and AWS answers. */
  readonly standins: string;
  readonly env: NodeJS.ProcessEnv;
  calls(tool?: Call['tool']): Call[];
  /** Starts over with a clean project copy, as every job on a GitHub runner does (state and artifacts stay). */
  freshWorkspace(): void;
  /** Creates a (fake) S3 bucket, as the foundation stack would have. */
  bucket(name: string): string;
  /** Writes an answer file for a stand-in, e.g. github/environments/prod.json. */
  answer(path: string, content: string | object): void;
  run(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
  /**
   * Runs a command line in a terminal (util-linux `script`), pressing `keys` once
   * the output matches `prompt`, as a person at the keyboard would.
   */
  runInTerminal(commandLine: string, prompt: RegExp, keys: string, timeoutMs?: number): Promise<{ status: number | null; output: string }>;
  remove(): void;
}

function realNpm(): string {
  const found = spawnSync('bash', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('npm is not on PATH');
  return found;
}

export function createSandbox(): Sandbox {
  const base = mkdtempSync(join(tmpdir(), 'chat-delivery-'));
  const dir = join(base, 'project');
  const standins = join(base, 'standins');
  mkdirSync(standins);
  const copyProject = () => {
    rmSync(dir, { recursive: true, force: true });
    // Tracked and new (not ignored) files: the tree a fresh clone of this commit would have.
    const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
    for (const file of files) {
      if (!existsSync(join(repoRoot, file))) continue; // deleted in the working tree
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      // Keep mtimes: the bootstrap reinstalls when package-lock.json looks newer than node_modules.
      cpSync(join(repoRoot, file), join(dir, file), { preserveTimestamps: true });
    }
    for (const linked of ['node_modules', '.tools']) {
      if (existsSync(join(repoRoot, linked))) symlinkSync(join(repoRoot, linked), join(dir, linked));
    }
  };
  copyProject();
  const env: NodeJS.ProcessEnv = {
    PATH: `${standIns}:${process.env.PATH}`,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    STANDIN_DIR: standins,
    STANDIN_REAL_NPM: realNpm(),
    // No telemetry or version check traffic from cdktf or Terraform.
    CHECKPOINT_DISABLE: '1',
    // Node's stdio pipes are sockets: a first-level bash on one sources ~/.bashrc as if
    // started by sshd, and a PATH it prepends (e.g. pyenv's shims with a real aws) would
    // come before the stand-ins. A shell level of 1 makes every bash here level 2 or more.
    SHLVL: '1',
  };
  const sandbox: Sandbox = {
    dir,
    standins,
    env,
    calls(tool) {
      const file = join(standins, 'calls.jsonl');
      if (!existsSync(file)) return [];
      const all = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call);
      return tool ? all.filter((c) => c.tool === tool) : all;
    },
    freshWorkspace: copyProject,
    bucket(name) {
      const path = join(standins, 's3', name);
      mkdirSync(path, { recursive: true });
      return path;
    },
    answer(path, content) {
      const file = join(standins, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    },
    run(command, args, options = {}) {
      const result = spawnSync(command, args, {
        cwd: dir,
        env: { ...env, ...options.env },
        input: options.input ?? '',
        encoding: 'utf8',
        timeout: options.timeoutMs ?? 300_000,
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    runInTerminal(commandLine, prompt, keys, timeoutMs = 300_000) {
      return new Promise((resolve) => {
        const child = spawn('script', ['-qec', commandLine, '/dev/null'], { cwd: dir, env });
        let output = '';
        let answered = false;
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (!answered && prompt.test(output)) {
            answered = true;
            // The prompt is drawn before it listens for keys; give it a moment.
            setTimeout(() => child.stdin.write(keys), 500);
          }
        });
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, output });
        });
      });
    },
    remove() {
      rmSync(base, { recursive: true, force: true });
    },
  };
  return sandbox;
}
