// Reading the JSON of `terraform show -json <planfile>` (format 1.x): the
// parts the summary uses, checked, so that any other file is refused with a
// clear error.

// 'forget' (Terraform >= 1.7, a `removed` block with destroy = false) drops a
// resource from state and leaves it running in the account.
export type Action = 'create' | 'update' | 'replace' | 'delete' | 'forget' | 'no-op' | 'read';

export interface ResourceChange {
  address: string;
  /** The address without instance keys, as the configuration names it: module.a.aws_x.b */
  configAddress: string;
  type: string;
  action: Action;
  /** A replacement whose old object is only removed from state (["create","forget"]). */
  forgetsPrior: boolean;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** Mirrors `after`: true where a value is known only after apply (absent from `after`). */
  afterUnknown: Record<string, unknown>;
  /** Attribute paths that force the replacement. */
  replacePaths: Array<Array<string | number>>;
  /** Why Terraform replaces, deletes or reads it (replace_because_tainted, delete_because_no_resource_config, …). */
  actionReason: string | undefined;
}

export interface Plan {
  formatVersion: string;
  terraformVersion: string | undefined;
  changes: ResourceChange[];
  /** Names of root module outputs whose value changes. */
  changedOutputs: string[];
  /** Addresses of resources changed outside Terraform since the last apply. */
  drifted: string[];
  /** Resource values of prior_state and planned_values (data sources included). */
  knownValues: Array<{ address: string; type: string; mode: string; values: Record<string, unknown> }>;
  /** Configuration expressions by config address, to follow references between resources. */
  expressions: Map<string, Record<string, unknown>>;
}

export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function actionOf(actions: unknown, address: string): { action: Action; forgetsPrior: boolean } {
  if (!Array.isArray(actions) || actions.length === 0) throw new PlanError(`resource ${address} has no change.actions`);
  const key = [...actions].sort().join(',');
  switch (key) {
    case 'create':
    case 'update':
    case 'delete':
    case 'read':
    case 'forget':
    case 'no-op':
      return { action: key, forgetsPrior: false };
    case 'create,delete': // ["delete","create"] or ["create","delete"] (create_before_destroy)
      return { action: 'replace', forgetsPrior: false };
    case 'create,forget': // Terraform >= 1.8: replaced, the old object left running
      return { action: 'replace', forgetsPrior: true };
    default:
      throw new PlanError(`resource ${address} has unknown actions ${JSON.stringify(actions)}`);
  }
}

export const configAddressOf = (address: string) => address.replace(/\[[^\]]*\]/g, '');

/** Every resource of a module tree (prior_state.values / planned_values), child modules included. */
function moduleResources(module: unknown): Array<Record<string, unknown>> {
  if (!isObject(module)) return [];
  const own = Array.isArray(module.resources) ? module.resources.filter(isObject) : [];
  const children = Array.isArray(module.child_modules) ? module.child_modules.flatMap(moduleResources) : [];
  return [...own, ...children];
}

/** configuration.root_module and its module_calls, keyed by absolute config address. */
function configExpressions(module: unknown, prefix = '', into = new Map<string, Record<string, unknown>>()) {
  if (!isObject(module)) return into;
  for (const resource of Array.isArray(module.resources) ? module.resources.filter(isObject) : []) {
    if (typeof resource.address === 'string' && isObject(resource.expressions)) into.set(prefix + resource.address, resource.expressions);
  }
  for (const [name, call] of Object.entries(isObject(module.module_calls) ? module.module_calls : {})) {
    if (isObject(call)) configExpressions(call.module, `${prefix}module.${name}.`, into);
  }
  return into;
}

export function parsePlan(text: string, name = 'the file'): Plan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PlanError(`${name} is not JSON; expected the output of \`terraform show -json <planfile>\``);
  }
  if (!isObject(json) || typeof json.format_version !== 'string') {
    throw new PlanError(`${name} is not a Terraform plan: no format_version; expected the output of \`terraform show -json <planfile>\``);
  }
  if (!json.format_version.startsWith('1.')) {
    throw new PlanError(`${name}: plan format ${json.format_version} is not supported (this summary reads format 1.x)`);
  }
  if (!('planned_values' in json) && !('resource_changes' in json)) {
    throw new PlanError(
      `${name} is not a Terraform plan: no planned_values or resource_changes${'values' in json ? ' (it looks like state: run terraform show -json on a plan file)' : ''}`,
    );
  }
  const raw = json.resource_changes ?? [];
  if (!Array.isArray(raw)) throw new PlanError(`${name}: resource_changes must be a list`);
  const changes = raw.map((entry: unknown, index): ResourceChange => {
    if (!isObject(entry) || typeof entry.address !== 'string' || typeof entry.type !== 'string' || !isObject(entry.change)) {
      throw new PlanError(`${name}: resource_changes[${index}] needs address, type and change`);
    }
    const change = entry.change;
    return {
      address: entry.address,
      configAddress: configAddressOf(entry.address),
      type: entry.type,
      ...actionOf(change.actions, entry.address),
      before: isObject(change.before) ? change.before : null,
      after: isObject(change.after) ? change.after : null,
      afterUnknown: isObject(change.after_unknown) ? change.after_unknown : {},
      replacePaths: Array.isArray(change.replace_paths) ? change.replace_paths.filter(Array.isArray) : [],
      actionReason: typeof entry.action_reason === 'string' ? entry.action_reason : undefined,
    };
  });
  const outputs = isObject(json.output_changes) ? json.output_changes : {};
  const changedOutputs = Object.entries(outputs)
    .filter(([, output]) => isObject(output) && Array.isArray(output.actions) && !output.actions.every((a) => a === 'no-op'))
    .map(([name]) => name)
    .sort();
  const drifted = (Array.isArray(json.resource_drift) ? json.resource_drift.filter(isObject) : [])
    .filter((d) => typeof d.address === 'string' && isObject(d.change) && Array.isArray(d.change.actions) && !d.change.actions.every((a) => a === 'no-op'))
    .map((d) => d.address as string)
    .sort();
  const priorState = isObject(json.prior_state) ? json.prior_state.values : undefined;
  const planned = isObject(json.planned_values) ? json.planned_values.root_module : undefined;
  const knownValues = [...moduleResources(isObject(priorState) ? priorState.root_module : undefined), ...moduleResources(planned)]
    .filter((r) => typeof r.address === 'string' && typeof r.type === 'string' && isObject(r.values))
    .map((r) => ({ address: r.address as string, type: r.type as string, mode: String(r.mode ?? 'managed'), values: r.values as Record<string, unknown> }));
  const configuration = isObject(json.configuration) ? json.configuration.root_module : undefined;
  return {
    formatVersion: json.format_version,
    terraformVersion: typeof json.terraform_version === 'string' ? json.terraform_version : undefined,
    changes,
    changedOutputs,
    drifted,
    knownValues,
    expressions: configExpressions(configuration),
  };
}
