// Walking a resource's before/after values the way a plan encodes them:
// nested blocks are lists of objects, and a value known only after apply is
// absent from `after` and `true` at the same place in `after_unknown`.

/** One attribute that holds a plain value on either side. */
export interface Leaf {
  /** Dotted path, list indices included: metadata_options.0.http_tokens */
  path: string;
  /** The attribute's own name: http_tokens */
  key: string;
  before: unknown;
  after: unknown;
  /** Known only after apply: `after` says nothing about it. */
  unknown: boolean;
}

const isTree = (value: unknown): value is Record<string, unknown> | unknown[] => typeof value === 'object' && value !== null;

/** The part of an after_unknown tree under one key or index (true means the whole value is unknown). */
export function unknownAt(unknown: unknown, key: string | number): unknown {
  if (unknown === true) return true;
  if (!isTree(unknown)) return undefined;
  return (unknown as Record<string | number, unknown>)[key];
}

/** Every attribute of before and after side by side, nested blocks flattened. */
export function leaves(before: unknown, after: unknown, unknown: unknown, path: string[] = []): Leaf[] {
  const keys = new Set<string>();
  for (const side of [before, after]) if (isTree(side)) for (const key of Object.keys(side)) keys.add(key);
  const found: Leaf[] = [];
  for (const key of keys) {
    const was = isTree(before) ? (before as Record<string, unknown>)[key] : undefined;
    const now = isTree(after) ? (after as Record<string, unknown>)[key] : undefined;
    const nowUnknown = unknownAt(unknown, key);
    const here = [...path, key];
    if (nowUnknown !== true && (isTree(was) || isTree(now))) found.push(...leaves(was, now, nowUnknown, here));
    else found.push({ path: here.join('.'), key: Array.isArray(before) || Array.isArray(after) ? (path.at(-1) ?? key) : key, before: was, after: now, unknown: nowUnknown === true });
  }
  return found;
}

/** Booleans arrive as true/false, or as "true"/"false" for provider attributes typed as strings. */
export const isOn = (value: unknown) => value === true || value === 'true';
export const isOff = (value: unknown) => value === false || value === 'false';
export const isBlank = (value: unknown) => value === null || value === undefined || value === '';

/** A value as a reviewer reads it in the warning. */
export const show = (value: unknown) => (value === undefined ? 'null' : JSON.stringify(value));

/** Deep equality of two JSON values. */
export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Nested blocks of a resource: `metadata_options` → its objects. */
export function blocks(values: Record<string, unknown> | null, key: string): Array<Record<string, unknown>> {
  const raw = values?.[key];
  return Array.isArray(raw) ? raw.filter((b): b is Record<string, unknown> => isTree(b) && !Array.isArray(b)) : [];
}

export const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
