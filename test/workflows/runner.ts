// Runs a workflow job's steps in order the way a GitHub runner would, inside a
// sandbox (test/infra/sandbox.ts): `run:` blocks with bash -eo pipefail, the
// expressions of `env:`, `with:` and `if:` evaluated against test values of the
// GitHub contexts, step outputs through $GITHUB_OUTPUT. Of the `uses:` actions,
// upload-artifact and download-artifact move files through the stand-ins'
// artifact store; the others (checkout, setup-*, credentials, github-script)
// only have their evaluated inputs recorded, as nothing here can reach GitHub or AWS.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Sandbox } from '../infra/sandbox.js';

type Json = any;

export interface StepResult {
  readonly name: string;
  readonly kind: 'run' | 'uses' | 'skipped';
  readonly uses?: string;
  readonly with?: Record<string, string>;
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface JobResult {
  readonly job: string;
  readonly steps: StepResult[];
  readonly success: boolean;
  /** The job's evaluated `environment:` name, if it has one. */
  readonly environment?: string;
}

export interface Contexts {
  readonly github: Json;
  readonly inputs?: Record<string, unknown>;
  readonly matrix?: Record<string, unknown>;
  readonly vars?: Record<string, string>;
}

export function readWorkflow(dir: string, file: string): Json {
  return parse(readFileSync(join(dir, '.github', 'workflows', file), 'utf8'));
}

// --- expressions: the subset the workflows use ------------------------------------

type Token = { kind: 'str' | 'num' | 'id' | 'op'; value: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:'((?:[^']|'')*)'|(\d+(?:\.\d+)?)|([A-Za-z_][\w-]*(?:\.[\w*-]+)*)|(==|!=|&&|\|\||[!(),]))/y;
  let match: RegExpExecArray | null;
  while (re.lastIndex < source.length && (match = re.exec(source))) {
    if (match[1] !== undefined) tokens.push({ kind: 'str', value: match[1].replaceAll("''", "'") });
    else if (match[2] !== undefined) tokens.push({ kind: 'num', value: match[2] });
    else if (match[3] !== undefined) tokens.push({ kind: 'id', value: match[3] });
    else tokens.push({ kind: 'op', value: match[4] });
    if (/^\s*$/.test(source.slice(re.lastIndex))) break;
  }
  if (re.lastIndex < source.length && !/^\s*$/.test(source.slice(re.lastIndex))) throw new Error(`cannot parse expression: ${source}`);
  return tokens;
}

export function evaluate(source: string, context: Json, status: { failed: boolean }): unknown {
  const tokens = tokenize(source);
  let i = 0;
  const peek = () => tokens[i];
  const take = (value?: string) => {
    const token = tokens[i++];
    if (!token || (value !== undefined && token.value !== value)) throw new Error(`expected ${value} in ${source}`);
    return token;
  };
  const lookup = (path: string): unknown => path.split('.').reduce<Json>((node, key) => (node == null ? undefined : node[key]), context);
  function primary(): unknown {
    const token = take();
    if (token.kind === 'str') return token.value;
    if (token.kind === 'num') return Number(token.value);
    if (token.value === '(') {
      const value = or();
      take(')');
      return value;
    }
    if (token.value === '!') return !primary();
    if (token.kind === 'id' && peek()?.value === '(') {
      take('(');
      take(')');
      const functions: Record<string, () => boolean> = { always: () => true, success: () => !status.failed, failure: () => status.failed, cancelled: () => false };
      const fn = functions[token.value];
      if (!fn) throw new Error(`unsupported function ${token.value}() in ${source}`);
      return fn();
    }
    if (token.kind === 'id') return token.value === 'true' ? true : token.value === 'false' ? false : lookup(token.value);
    throw new Error(`unexpected ${token.value} in ${source}`);
  }
  function comparison(): unknown {
    const left = primary();
    const op = peek()?.value;
    if (op === '==' || op === '!=') {
      take();
      const right = primary();
      return op === '==' ? left === right : left !== right;
    }
    return left;
  }
  function and(): unknown {
    let value = comparison();
    while (peek()?.value === '&&') {
      take();
      const right = comparison();
      value = value ? right : value;
    }
    return value;
  }
  function or(): unknown {
    let value = and();
    while (peek()?.value === '||') {
      take();
      const right = and();
      value = value || right;
    }
    return value;
  }
  const value = or();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${source}`);
  return value;
}

/** Replaces every ${{ }} of a string; a string that is one expression keeps its type. */
export function interpolate(text: unknown, context: Json, status = { failed: false }): unknown {
  if (typeof text !== 'string') return text;
  const whole = /^\$\{\{(.*)\}\}$/s.exec(text.trim());
  if (whole && !whole[1].includes('}}')) return evaluate(whole[1], context, status);
  return text.replace(/\$\{\{(.*?)\}\}/g, (_, expr: string) => {
    const value = evaluate(expr, context, status);
    return value === undefined || value === null ? '' : String(value);
  });
}

function interpolateMap(map: Record<string, unknown> | undefined, context: Json, status: { failed: boolean }): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, String(interpolate(v, context, status) ?? '')]));
}

// --- artifacts ----------------------------------------------------------------------

let artifactIds = 1000;

function uploadArtifact(sandbox: Sandbox, inputs: Record<string, string>, runId: number): void {
  const source = join(sandbox.dir, inputs.path);
  if (!existsSync(source)) {
    if (inputs['if-no-files-found'] === 'error') throw new Error(`upload-artifact: no files at ${inputs.path}`);
    return;
  }
  const store = join(sandbox.standins, 'artifacts', inputs.name);
  mkdirSync(store, { recursive: true });
  cpSync(source, join(store, 'files'), { recursive: true });
  writeFileSync(join(store, 'meta.json'), JSON.stringify({ id: ++artifactIds, name: inputs.name, runId, createdAt: new Date().toISOString() }));
}

function downloadArtifact(sandbox: Sandbox, inputs: Record<string, string>): void {
  const store = join(sandbox.standins, 'artifacts');
  const pattern = new RegExp(`^${(inputs.pattern ?? inputs.name).replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
  for (const name of existsSync(store) ? readdirSync(store) : []) {
    if (pattern.test(name)) cpSync(join(store, name, 'files'), join(sandbox.dir, inputs.path ?? '.', inputs.pattern ? name : ''), { recursive: true });
  }
}

// --- jobs ---------------------------------------------------------------------------

export interface RunJobOptions {
  readonly contexts: Contexts;
  /** Extra environment for every step (e.g. STANDIN_DRIFT). */
  readonly env?: NodeJS.ProcessEnv;
  /** The run id artifacts of this job are stored under. */
  readonly runId?: number;
}

export function runJob(sandbox: Sandbox, workflow: Json, jobId: string, options: RunJobOptions): JobResult {
  const job = workflow.jobs[jobId];
  if (!job) throw new Error(`no job ${jobId}`);
  sandbox.freshWorkspace();
  const { github } = options.contexts;
  const context: Json = { ...options.contexts, steps: {}, env: {} };
  const status = { failed: false };
  const environment = job.environment === undefined ? undefined : String(interpolate(typeof job.environment === 'string' ? job.environment : job.environment.name, context, status));
  if (job.if !== undefined && !evaluate(String(job.if).replace(/^\$\{\{|\}\}$/g, ''), context, status)) {
    return { job: jobId, steps: [], success: true, environment };
  }
  context.env = { ...interpolateMap(workflow.env, context, status), ...interpolateMap(job.env, context, status) };
  const temp = mkdtempSync(join(sandbox.standins, 'runner-'));
  const summary = join(temp, 'step-summary.md');
  const steps: StepResult[] = [];
  (job.steps as Json[]).forEach((step, index) => {
    const name = step.name ?? step.run ?? step.uses;
    const condition = step.if === undefined ? 'success()' : String(step.if).replace(/^\$\{\{|\}\}$/g, '');
    if (!evaluate(condition, context, status)) {
      steps.push({ name, kind: 'skipped', status: 0, stdout: '', stderr: '' });
      return;
    }
    const stepEnv = { ...context.env, ...interpolateMap(step.env, { ...context, env: context.env }, status) };
    if (step.uses) {
      const inputs = interpolateMap(step.with, context, status);
      let code = 0;
      let stderr = '';
      try {
        if (String(step.uses).startsWith('actions/upload-artifact@')) uploadArtifact(sandbox, inputs, options.runId ?? 1);
        if (String(step.uses).startsWith('actions/download-artifact@')) downloadArtifact(sandbox, inputs);
      } catch (error) {
        code = 1;
        stderr = (error as Error).message;
      }
      if (code !== 0) status.failed = true;
      steps.push({ name, kind: 'uses', uses: step.uses, with: inputs, status: code, stdout: '', stderr });
      return;
    }
    const script = join(temp, `step-${index}.sh`);
    const output = join(temp, `output-${index}`);
    writeFileSync(script, String(step.run));
    writeFileSync(output, '');
    const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: sandbox.dir,
      encoding: 'utf8',
      timeout: 600_000,
      env: {
        ...sandbox.env,
        ...options.env,
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_SHA: github.sha,
        GITHUB_REPOSITORY: github.repository,
        GITHUB_EVENT_NAME: github.event_name,
        GITHUB_WORKSPACE: sandbox.dir,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        RUNNER_TEMP: temp,
        ...stepEnv,
      },
    });
    const outputs: Record<string, string> = {};
    for (const line of readFileSync(output, 'utf8').split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) outputs[line.slice(0, eq)] = line.slice(eq + 1);
    }
    if (step.id) context.steps[step.id] = { outputs, outcome: result.status === 0 ? 'success' : 'failure' };
    if (result.status !== 0) status.failed = true;
    steps.push({ name, kind: 'run', status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr });
  });
  return { job: jobId, steps, success: !status.failed, environment };
}

/** The `run:` steps of a result that ran, for messages. */
export function describe(result: JobResult): string {
  return result.steps.map((s) => `[${s.kind} ${s.status}] ${s.name}\n${s.stdout.slice(-1500)}${s.stderr.slice(-3000)}`).join('\n');
}
