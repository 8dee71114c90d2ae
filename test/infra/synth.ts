// Synthesizes environments the way main.ts does, into a temporary directory,
// and hands back each stack's Terraform JSON (parsed and as written).
// Synth of the AWS provider is heavy: each test file calls this once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type BuildAppOptions } from '../../stacks/app.js';

// Terraform JSON is loosely typed by nature; tests navigate it with these.
export type Json = any;

export interface SynthesizedStack {
  readonly name: string;
  readonly text: string;
  readonly json: Json;
}

export function synthesize(environments: Readonly<Record<string, unknown>>, foundation?: BuildAppOptions['foundation']): Map<string, SynthesizedStack> {
  const outdir = mkdtempSync(join(tmpdir(), 'chat-synth-'));
  try {
    const { app } = buildApp({ environments, outdir, foundation });
    app.synth();
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
      stacks: Record<string, { synthesizedStackPath: string }>;
    };
    const stacks = new Map<string, SynthesizedStack>();
    for (const [name, stack] of Object.entries(manifest.stacks)) {
      const text = readFileSync(join(outdir, stack.synthesizedStackPath), 'utf8');
      stacks.set(name, { name, text, json: JSON.parse(text) });
    }
    return stacks;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** All resources of one Terraform type, without cdktf's metadata. */
export function resources(stack: Json, type: string): Json[] {
  return Object.values(stack.resource?.[type] ?? {});
}

export function dataSources(stack: Json, type: string): Json[] {
  return Object.values(stack.data?.[type] ?? {});
}

/** The single resource of a type; fails when there are none or several. */
export function only(stack: Json, type: string): Json {
  const found = resources(stack, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0];
}

/** Terraform address of a resource, e.g. "aws_vpc.network_vpc_4E8F0223", to match references to it. */
export function addressOf(stack: Json, type: string, resource: Json): string {
  const entry = Object.entries(stack.resource?.[type] ?? {}).find(([, value]) => value === resource);
  if (!entry) throw new Error(`resource not found in ${type}`);
  return `${type}.${entry[0]}`;
}

/** Parses the policy of an aws_iam_policy_document data source referenced as "${data...json}". */
export function policyDocument(stack: Json, reference: string): Json {
  const match = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(reference);
  if (!match) throw new Error(`not a policy document reference: ${reference}`);
  return stack.data.aws_iam_policy_document[match[1]];
}
