// Reading the JSON of `terraform show -json <planfile>`: just the parts the
// summary uses, checked, so that any other file is refused with a clear error.

// 'forget' (Terraform >= 1.7, a `removed` block with destroy = false) drops a
// resource from state and leaves it running in the account.
export type Action = 'create' | 'update' | 'replace' | 'delete' | 'forget' | 'no-op' | 'read';

export interface ResourceChange {
  address: string;
  type: string;
  action: Action;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** Mirrors `after`: true where a value is known only after apply (absent from `after`). */
  afterUnknown: Record<string, unknown>;
}

export interface Plan {
  formatVersion: string;
  changes: ResourceChange[];
  /** Names of root module outputs whose value changes. */
  changedOutputs: string[];
}

export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

function actionOf(actions: unknown, address: string): Action {
  if (!Array.isArray(actions) || actions.length === 0) throw new PlanError(`resource ${address} has no change.actions`);
  const key = [...actions].sort().join(',');
  switch (key) {
    case 'create':
    case 'update':
    case 'delete':
    case 'read':
    case 'forget':
      return key;
    case 'no-op':
      return 'no-op';
    case 'create,delete': // ["delete","create"] or ["create","delete"] (create_before_destroy)
      return 'replace';
    default:
      throw new PlanError(`resource ${address} has unknown actions ${JSON.stringify(actions)}`);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

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
      type: entry.type,
      action: actionOf(change.actions, entry.address),
      before: isObject(change.before) ? change.before : null,
      after: isObject(change.after) ? change.after : null,
      afterUnknown: isObject(change.after_unknown) ? change.after_unknown : {},
    };
  });
  const outputs = isObject(json.output_changes) ? json.output_changes : {};
  const changedOutputs = Object.entries(outputs)
    .filter(([, output]) => isObject(output) && Array.isArray(output.actions) && !output.actions.every((a) => a === 'no-op'))
    .map(([name]) => name)
    .sort();
  return { formatVersion: json.format_version, changes, changedOutputs };
}
