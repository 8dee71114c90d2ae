// Recording stand-in for the `terraform` binary (Terraform 1.10.5): no AWS account
// and no provider download are possible in tests, so cdktf, the deploy scripts and
// the workflow steps drive this instead. Every invocation is appended to
// $STANDIN_DIR/calls.jsonl (argv, cwd, the environment Terraform reads, the backend
// it was configured with, the plan file it was handed) and answered the way
// Terraform answers: version, init (S3 or local backend, -migrate-state),
// providers lock, plan -out (a plan file, -detailed-exitcode, lock file in the
// bucket), show -json (plan format 1.2 / state), apply (saved plan or prompt),
// destroy, output. State lives under $STANDIN_DIR: S3 buckets are directories.
//
// Resource attributes are the configuration's own values; references (${...})
// are unknown in a plan and become deterministic fake values on apply. A resource
// whose configuration changed is an update; addresses in $STANDIN_DRIFT (comma
// separated) were changed outside Terraform and show up as resource_drift.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { standinDir } from './record.mjs';

const VERSION = '1.10.5';
const root = standinDir();

let args = process.argv.slice(2);
let cwd = process.cwd();
while (args[0]?.startsWith('-chdir=')) {
  cwd = resolve(cwd, args[0].slice('-chdir='.length));
  args = args.slice(1);
}
const [command = '', ...rest] = args;
const flags = new Map();
const positional = [];
for (let i = 0; i < rest.length; i++) {
  const arg = rest[i];
  if (arg === '-out') flags.set('-out', rest[++i]);
  else if (arg.startsWith('-')) {
    const eq = arg.indexOf('=');
    flags.set(eq < 0 ? arg : arg.slice(0, eq), eq < 0 ? true : arg.slice(eq + 1));
  } else positional.push(arg);
}

const sha = (text) => createHash('sha256').update(text).digest('hex');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const out = (text) => process.stdout.write(text);
const recorded = { at: new Date().toISOString(), argv: process.argv.slice(2), cwd, stdinIsTTY: Boolean(process.stdin.isTTY) };
const ENV_KEYS = /^(TF_|AWS_|CHECKPOINT_DISABLE$|TERRAFORM_BINARY_NAME$|GITHUB_SHA$|CI$)/;
recorded.env = Object.fromEntries(Object.entries(process.env).filter(([k]) => ENV_KEYS.test(k)).sort());

/** The lock file this invocation holds; released on every exit, as Terraform does on errors too. */
let heldLock = null;

function finish(code, extra = {}) {
  if (heldLock) rmSync(heldLock, { force: true });
  appendFileSync(join(root, 'calls.jsonl'), `${JSON.stringify({ tool: 'terraform', ...recorded, ...extra, exitCode: code })}\n`);
  process.exit(code);
}

function fail(message, extra = {}) {
  process.stderr.write(`\n│ Error: ${message.split('\n')[0]}\n│\n${message.split('\n').slice(1).map((l) => `│ ${l}`).join('\n')}\n╵\n`);
  finish(1, { error: message.split('\n')[0], ...extra });
}

// --- configuration ------------------------------------------------------------

function loadConfig() {
  const files = existsSync(cwd) ? readdirSync(cwd).filter((f) => f.endsWith('.tf.json')).sort() : [];
  if (files.length === 0) fail('No configuration files\nTerraform found no *.tf.json files in this directory.');
  const config = { resource: {}, output: {}, terraform: {} };
  let text = '';
  for (const file of files) {
    const raw = readFileSync(join(cwd, file), 'utf8');
    text += raw;
    const json = JSON.parse(raw);
    for (const [type, blocks] of Object.entries(json.resource ?? {})) Object.assign((config.resource[type] ??= {}), blocks);
    Object.assign(config.output, json.output ?? {});
    Object.assign(config.terraform, json.terraform ?? {});
  }
  return { config, hash: sha(text) };
}

function backendOf(config) {
  const backends = Object.entries(config.terraform.backend ?? { local: {} });
  if (backends.length !== 1) fail('Duplicate backend configuration');
  const [type, settings] = backends[0];
  return { type, settings };
}

/** Where a backend keeps its state file, and its lock file. */
function stateLocation(backend) {
  if (backend.type === 'local') {
    const file = resolve(cwd, backend.settings.path ?? 'terraform.tfstate');
    return { file, lock: `${file}.lock.info` };
  }
  if (backend.type === 's3') {
    for (const key of ['bucket', 'key', 'region']) {
      if (!backend.settings[key]) fail(`Missing required argument\nThe argument "${key}" is required, but no definition was found.`);
    }
    const bucket = join(root, 's3', backend.settings.bucket);
    if (!existsSync(bucket)) {
      fail(`Failed to get existing workspaces: S3 bucket "${backend.settings.bucket}" does not exist.\nThe referenced S3 bucket must have been previously created.`);
    }
    const file = join(bucket, backend.settings.key);
    return { file, lock: backend.settings.use_lockfile ? `${file}.tflock` : null };
  }
  fail(`Unsupported backend type "${backend.type}" in the stand-in`);
}

function readState(location) {
  if (!existsSync(location.file)) return { version: 4, terraform_version: VERSION, serial: 0, lineage: '', outputs: {}, resources: [] };
  return readJson(location.file);
}

function writeState(location, state) {
  mkdirSync(dirname(location.file), { recursive: true });
  writeFileSync(location.file, `${JSON.stringify(state, null, 2)}\n`);
}

/** The backend `init` recorded in .terraform/, checked against the configuration like Terraform does. */
function initializedBackend(config) {
  const marker = join(cwd, '.terraform', 'terraform.tfstate');
  const backend = backendOf(config);
  if (!existsSync(marker)) fail('Backend initialization required, please run "terraform init"\nReason: Initial configuration of the requested backend.');
  const recordedBackend = readJson(marker).backend;
  if (sha(JSON.stringify(recordedBackend)) !== sha(JSON.stringify(backend))) {
    fail('Backend initialization required, please run "terraform init"\nReason: Backend configuration block has changed');
  }
  return backend;
}

function withLock(location, body) {
  if (flags.get('-lock') === 'false' || !location.lock) return body();
  if (existsSync(location.lock)) fail(`Error acquiring the state lock\nLock file ${location.lock} exists.`);
  mkdirSync(dirname(location.lock), { recursive: true });
  writeFileSync(location.lock, JSON.stringify({ Operation: command, Who: 'stand-in', Version: VERSION }));
  heldLock = location.lock;
  recorded.lockFile = location.lock.slice(root.length + 1);
  const result = body();
  rmSync(location.lock, { force: true });
  heldLock = null;
  return result;
}

// --- planning -----------------------------------------------------------------

const REF = /\$\{([^}]*)\}/g;
const fakeValue = (expression) => `stand-in:${expression}`;
function resolveRefs(value) {
  if (typeof value === 'string') return value.replace(REF, (_, expr) => fakeValue(expr));
  if (Array.isArray(value)) return value.map(resolveRefs);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v)]));
  return value;
}
const HAS_REF = /\$\{[^}]*\}/;
function unknownPaths(value) {
  if (typeof value === 'string') return HAS_REF.test(value);
  if (Array.isArray(value)) return value.map(unknownPaths);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unknownPaths(v)]));
  return false;
}
const attributesOf = (block) => Object.fromEntries(Object.entries(block).filter(([k]) => !['lifecycle', 'depends_on', 'provider', '//', 'count', 'for_each'].includes(k)));
const sensitiveOf = (value) => (value && typeof value === 'object' ? {} : false);

function desiredResources(config) {
  const result = new Map();
  for (const [type, blocks] of Object.entries(config.resource)) {
    for (const [name, block] of Object.entries(blocks)) {
      result.set(`${type}.${name}`, { type, name, attributes: attributesOf(block), lifecycle: block.lifecycle ?? {}, hash: sha(JSON.stringify(attributesOf(block))) });
    }
  }
  return result;
}

function makePlan(config, configHash, state, { destroy }) {
  const drifted = new Set((process.env.STANDIN_DRIFT ?? '').split(',').filter(Boolean));
  const configured = desiredResources(config);
  const desired = destroy ? new Map() : configured;
  const current = new Map(state.resources.map((r) => [`${r.type}.${r.name}`, r]));
  const changes = [];
  const drift = [];
  const base = (address, r) => ({ address, mode: 'managed', type: r.type, name: r.name, provider_name: `registry.terraform.io/hashicorp/${r.type.split('_')[0]}` });
  for (const [address, want] of desired) {
    const have = current.get(address);
    const after = want.attributes;
    const common = { after, after_unknown: unknownPaths(after), before_sensitive: have ? sensitiveOf(have.values) : false, after_sensitive: sensitiveOf(after) };
    if (!have) changes.push({ ...base(address, want), change: { actions: ['create'], before: null, ...common } });
    else if (have.hash !== want.hash || drifted.has(address)) {
      if (drifted.has(address)) drift.push({ ...base(address, want), change: { actions: ['update'], before: have.values, after: { ...have.values, tags: { drifted: 'outside terraform' } }, after_unknown: {}, before_sensitive: {}, after_sensitive: {} } });
      changes.push({ ...base(address, want), change: { actions: ['update'], before: have.values, ...common } });
    } else changes.push({ ...base(address, want), change: { actions: ['no-op'], before: have.values, after: have.values, after_unknown: {}, before_sensitive: {}, after_sensitive: {} } });
  }
  for (const [address, have] of current) {
    if (desired.has(address)) continue;
    changes.push({ ...base(address, have), change: { actions: ['delete'], before: have.values, after: null, after_unknown: {}, before_sensitive: sensitiveOf(have.values), after_sensitive: false }, action_reason: destroy ? undefined : 'delete_because_no_resource_config' });
  }
  // prevent_destroy is checked at plan time, against the configuration.
  const lifecycleOf = (address) => configured.get(address)?.lifecycle ?? {};
  for (const change of changes) {
    if (change.change.actions.includes('delete') && lifecycleOf(change.address).prevent_destroy) {
      fail(`Instance cannot be destroyed\nResource ${change.address} has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed.`);
    }
  }
  const outputChanges = {};
  for (const [name, output] of Object.entries(destroy ? {} : config.output)) {
    const before = state.outputs[name]?.value ?? null;
    const after = output.value;
    const same = before !== null && JSON.stringify(before) === JSON.stringify(resolveRefs(after));
    outputChanges[name] = { actions: [before === null ? 'create' : same ? 'no-op' : 'update'], before, after, after_unknown: unknownPaths(after), before_sensitive: false, after_sensitive: Boolean(output.sensitive) };
  }
  for (const name of Object.keys(state.outputs)) {
    if (!(name in outputChanges)) outputChanges[name] = { actions: ['delete'], before: state.outputs[name].value, after: null, after_unknown: false, before_sensitive: false, after_sensitive: false };
  }
  const noop = (c) => c.actions.every((a) => a === 'no-op');
  return {
    format_version: '1.2',
    terraform_version: VERSION,
    planned_values: { outputs: {}, root_module: { resources: changes.filter((c) => c.change.after).map((c) => ({ address: c.address, mode: 'managed', type: c.type, name: c.name, values: c.change.after, sensitive_values: {} })) } },
    resource_drift: drift,
    resource_changes: changes.map((c) => (c.action_reason === undefined ? (({ action_reason, ...r }) => r)(c) : c)),
    output_changes: outputChanges,
    prior_state: { format_version: '1.0', terraform_version: VERSION, values: { root_module: { resources: state.resources.map((r) => ({ address: `${r.type}.${r.name}`, mode: 'managed', type: r.type, name: r.name, values: r.values })) } } },
    configuration: { root_module: { resources: [...configured.values()].map((r) => ({ address: `${r.type}.${r.name}`, mode: 'managed', type: r.type, name: r.name })) } },
    relevant_attributes: [],
    timestamp: new Date().toISOString(),
    applyable: !changes.every((c) => noop(c.change)) || !Object.values(outputChanges).every(noop),
    complete: true,
    errored: false,
    // Not part of Terraform's JSON: what the binary plan file pins (state lineage/serial, config).
    standin: { destroy, configHash, lineage: state.lineage, serial: state.serial, desired: [...desired.values()] },
  };
}

function counts(plan) {
  const n = { add: 0, change: 0, destroy: 0 };
  for (const c of plan.resource_changes) {
    if (c.change.actions.includes('create')) n.add++;
    if (c.change.actions.includes('update')) n.change++;
    if (c.change.actions.includes('delete')) n.destroy++;
  }
  return n;
}
const hasChanges = (plan) => plan.applyable;

function printPlan(plan) {
  for (const c of plan.resource_changes.filter((r) => !r.change.actions.includes('no-op'))) out(`  # ${c.address} will be ${{ create: 'created', update: 'updated in-place', delete: 'destroyed' }[c.change.actions[0]]}\n`);
  const n = counts(plan);
  if (!hasChanges(plan)) out('\nNo changes. Your infrastructure matches the configuration.\n');
  else out(`\nPlan: ${n.add} to add, ${n.change} to change, ${n.destroy} to destroy.\n`);
}

function applyPlan(location, plan) {
  const state = readState(location);
  const next = {
    version: 4,
    terraform_version: VERSION,
    serial: state.serial + 1,
    lineage: state.lineage || sha(`${Date.now()}${Math.random()}`).slice(0, 36),
    outputs: {},
    resources: plan.standin.desired.map((r) => ({ mode: 'managed', type: r.type, name: r.name, hash: r.hash, values: resolveRefs(r.attributes) })),
  };
  for (const [name, change] of Object.entries(plan.output_changes)) {
    if (change.after !== null) next.outputs[name] = { value: resolveRefs(change.after), type: 'string', sensitive: change.after_sensitive === true };
  }
  writeState(location, next);
  // A created state bucket exists from now on (the foundation's bootstrap relies on it).
  for (const r of plan.standin.desired) {
    if (r.type === 'aws_s3_bucket' && typeof r.attributes.bucket === 'string' && !r.attributes.bucket.includes('${')) mkdirSync(join(root, 's3', r.attributes.bucket), { recursive: true });
  }
  const n = counts(plan);
  out(`\nApply complete! Resources: ${n.add} added, ${n.change} changed, ${n.destroy} destroyed.\n`);
  return n;
}

/** Reads one line from stdin, like Terraform's "Enter a value:" prompt (EOF answers nothing). */
function promptLine() {
  const byte = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, byte, 0, 1, null);
    } catch (error) {
      if (error.code === 'EAGAIN') continue;
      break;
    }
    if (n === 0 || byte[0] === 10) break;
    line += String.fromCharCode(byte[0]);
  }
  return line.trim();
}

/** .terraform.lock.hcl as init and providers lock write it (hashes left out). */
function writeLockFile(config) {
  const providers = Object.values(config.terraform.required_providers ?? {}).map((p) => {
    const source = p.source.includes('/') ? p.source : `hashicorp/${p.source}`;
    return `provider "registry.terraform.io/${source}" {\n  version     = "${p.version}"\n  constraints = "${p.version}"\n}\n`;
  });
  writeFileSync(join(cwd, '.terraform.lock.hcl'), `# This file is maintained automatically by "terraform init".\n# Manual edits may be lost in future updates.\n\n${providers.join('\n')}`);
}

// --- commands -----------------------------------------------------------------

switch (command) {
  case 'version':
  case '-v':
  case '-version':
  case '--version':
    if (flags.has('-json')) out(`${JSON.stringify({ terraform_version: VERSION, platform: 'linux_amd64', provider_selections: {}, terraform_outdated: false }, null, 2)}\n`);
    else out(`Terraform v${VERSION}\non linux_amd64\n`);
    finish(0);
    break;

  case 'init': {
    const { config } = loadConfig();
    const backend = backendOf(config);
    const location = stateLocation(backend);
    const marker = join(cwd, '.terraform', 'terraform.tfstate');
    const previous = existsSync(marker) ? readJson(marker).backend : null;
    recorded.backend = backend;
    if (previous && sha(JSON.stringify(previous)) !== sha(JSON.stringify(backend))) {
      if (!flags.has('-migrate-state') && !flags.has('-reconfigure')) {
        fail('Backend configuration changed\nA change in the backend configuration has been detected, which may require migrating existing state.\nIf you wish to attempt automatic migration of the state, use "terraform init -migrate-state".');
      }
      if (flags.has('-migrate-state')) {
        const from = stateLocation(previous);
        if (existsSync(from.file) && !existsSync(location.file)) {
          writeState(location, readJson(from.file));
          recorded.migratedFrom = previous;
          out(`Successfully configured the backend "${backend.type}"! Terraform will automatically\nuse this backend unless the backend configuration changes.\n`);
        }
      }
    }
    mkdirSync(join(cwd, '.terraform'), { recursive: true });
    writeFileSync(marker, JSON.stringify({ version: 3, terraform_version: VERSION, backend }, null, 2));
    const providers = Object.values(config.terraform.required_providers ?? {});
    recorded.providers = providers;
    if (!existsSync(join(cwd, '.terraform.lock.hcl'))) writeLockFile(config);
    out(`\nInitializing the backend...\n\nSuccessfully configured the backend "${backend.type}"!\n\nInitializing provider plugins...\n${providers.map((p) => `- Installing ${p.source} v${p.version}...\n`).join('')}\nTerraform has been successfully initialized!\n`);
    finish(0);
    break;
  }

  case 'providers': {
    if (positional[0] !== 'lock') fail(`Unsupported providers subcommand ${positional[0]}`);
    writeLockFile(loadConfig().config);
    finish(0);
    break;
  }

  case 'plan': {
    const { config, hash } = loadConfig();
    const backend = initializedBackend(config);
    recorded.backend = backend;
    const location = stateLocation(backend);
    const plan = withLock(location, () => makePlan(config, hash, readState(location), { destroy: flags.has('-destroy') }));
    printPlan(plan);
    const planFile = flags.get('-out');
    if (planFile) {
      const file = resolve(cwd, planFile);
      writeFileSync(file, JSON.stringify(plan));
      recorded.planFile = { path: planFile, sha256: sha(readFileSync(file)) };
      out(`\nSaved the plan to: ${planFile}\n\nTo perform exactly these actions, run the following command to apply:\n    terraform apply "${planFile}"\n`);
    }
    finish(flags.has('-detailed-exitcode') && hasChanges(plan) ? 2 : 0, { changes: counts(plan) });
    break;
  }

  case 'show': {
    if (!flags.has('-json')) fail('The stand-in only answers show -json');
    if (positional[0]) {
      const file = resolve(cwd, positional[0]);
      if (!existsSync(file)) fail(`Failed to read the given file as a state or plan file\nopen ${positional[0]}: no such file or directory`);
      recorded.planFile = { path: positional[0], sha256: sha(readFileSync(file)) };
      const { standin, ...plan } = readJson(file);
      void standin;
      out(`${JSON.stringify(plan)}\n`);
    } else {
      const { config } = loadConfig();
      const state = readState(stateLocation(initializedBackend(config)));
      out(`${JSON.stringify({ format_version: '1.0', terraform_version: VERSION, values: { outputs: state.outputs, root_module: { resources: state.resources } } })}\n`);
    }
    finish(0);
    break;
  }

  case 'apply':
  case 'destroy': {
    const { config, hash } = loadConfig();
    const backend = initializedBackend(config);
    recorded.backend = backend;
    const location = stateLocation(backend);
    const saved = command === 'apply' ? positional[0] : undefined;
    const result = withLock(location, () => {
      const state = readState(location);
      if (saved) {
        const file = resolve(cwd, saved);
        if (!existsSync(file)) fail(`Failed to load "${saved}" as a plan file\nopen ${saved}: no such file or directory`);
        recorded.planFile = { path: saved, sha256: sha(readFileSync(file)) };
        const plan = readJson(file);
        if (plan.standin.lineage !== state.lineage || plan.standin.serial !== state.serial) {
          fail('Saved plan is stale\nThe given plan file can no longer be applied because the state was changed by another operation after the plan was created.', { planFile: recorded.planFile });
        }
        return applyPlan(location, plan);
      }
      const destroy = command === 'destroy' || flags.has('-destroy');
      const plan = makePlan(config, hash, state, { destroy });
      printPlan(plan);
      if (!hasChanges(plan)) return counts(plan);
      if (!flags.has('-auto-approve')) {
        out(destroy
          ? '\nDo you really want to destroy all resources?\n  Terraform will destroy all your managed infrastructure, as shown above.\n  There is no undo. Only \'yes\' will be accepted to confirm.\n\n  Enter a value: '
          : '\nDo you want to perform these actions?\n  Terraform will perform the actions described above.\n  Only \'yes\' will be accepted to approve.\n\n  Enter a value: ');
        const answer = promptLine();
        recorded.answer = answer;
        if (answer !== 'yes') {
          out(`\n${destroy ? 'Destroy' : 'Apply'} cancelled.\n`);
          finish(1, { cancelled: true });
        }
      }
      return applyPlan(location, plan);
    });
    finish(0, { changes: result });
    break;
  }

  case 'output': {
    const { config } = loadConfig();
    const state = readState(stateLocation(initializedBackend(config)));
    if (flags.has('-json')) out(`${JSON.stringify(state.outputs, null, 2)}\n`);
    else if (flags.has('-raw')) {
      const name = positional[0];
      if (!state.outputs[name]) fail(`Output "${name}" not found`);
      out(String(state.outputs[name].value));
    } else for (const [name, o] of Object.entries(state.outputs)) out(`${name} = ${JSON.stringify(o.value)}\n`);
    finish(0);
    break;
  }

  default:
    fail(`Terraform stand-in has no answer for "${command}"`);
}
