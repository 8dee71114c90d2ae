// Readers for the two systemd file formats the AMI relies on: the unit file
// (chat.service) and the EnvironmentFile user data writes (/etc/chat/chat.env).
// They follow systemd's own rules closely enough that the tests can run the
// service exactly as systemd would; envFile.test.ts checks the environment
// reader against systemd's parser itself.

export type UnitFile = Map<string, Array<[key: string, value: string]>>;

/** Sections of a unit file, each with its assignments in order (repeated keys kept). */
export function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Array<[string, string]> | undefined;
  // A trailing backslash continues the line (the backslash becomes a space).
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = unit.get(header[1]) ?? [];
      unit.set(header[1], section);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) throw new Error(`not an assignment inside a section: ${raw}`);
    section.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** Every value given to a key, in order. */
export function unitValues(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** The value in force: for single-valued settings the last assignment wins. */
export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unitValues(unit, section, key).at(-1);
}

/** systemd time span ("35", "35s", "1min 30s", "2m") in seconds. */
export function parseTimeSpanSeconds(value: string): number {
  const units: Record<string, number> = { '': 1, s: 1, sec: 1, m: 60, min: 60, h: 3600, hr: 3600, ms: 0.001 };
  let total = 0;
  const parts = value.trim().split(/\s+/);
  for (const part of parts) {
    const match = /^(\d+(?:\.\d+)?)([a-z]*)$/.exec(part);
    if (!match || !(match[2] in units)) throw new Error(`not a time span: ${value}`);
    total += Number(match[1]) * units[match[2]];
  }
  return total;
}

/** Splits a command line the way systemd splits ExecStart (quotes and escapes, no shell). */
export function splitCommandLine(value: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < value.length) word += value[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < value.length) {
      word += value[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in: ${value}`);
  if (inWord) words.push(word);
  return words;
}

/**
 * KEY=value lines as systemd reads an EnvironmentFile (the state machine of
 * its env-file parser): lines starting with # or ; are comments, blanks
 * around the key and before the value are dropped, bare text keeps inner
 * blanks but loses trailing ones and honours backslash escapes, single quotes
 * keep everything literally, double quotes escape only " \ ` $, a backslash
 * before a newline joins lines (in comments too), text may follow a closing
 * quote, and assignments whose key is not a valid variable name are ignored.
 */
export function parseEnvironmentFile(text: string): Record<string, string> {
  type State = 'preKey' | 'key' | 'preValue' | 'value' | 'valueEscape' | 'single' | 'double' | 'doubleEscape' | 'comment' | 'commentEscape';
  const NEWLINE = '\n\r';
  const WHITESPACE = ' \t\n\r';
  const env: Record<string, string> = {};
  let state: State = 'preKey';
  let key = '';
  let value = '';
  let keyTrailingBlank = -1; // index where trailing blanks of the key start
  let valueTrailingBlank = -1; // same for an unquoted value

  const push = () => {
    const name = keyTrailingBlank >= 0 ? key.slice(0, keyTrailingBlank) : key;
    const content = valueTrailingBlank >= 0 ? value.slice(0, valueTrailingBlank) : value;
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) env[name] = content;
    key = '';
    value = '';
  };

  for (const c of text) {
    switch (state) {
      case 'preKey':
        if ('#;'.includes(c)) state = 'comment';
        else if (!WHITESPACE.includes(c)) {
          state = 'key';
          keyTrailingBlank = -1;
          key = c;
        }
        break;
      case 'key':
        if (NEWLINE.includes(c)) {
          state = 'preKey';
          key = '';
        } else if (c === '=') {
          state = 'preValue';
          valueTrailingBlank = -1;
        } else {
          if (!WHITESPACE.includes(c)) keyTrailingBlank = -1;
          else if (keyTrailingBlank < 0) keyTrailingBlank = key.length;
          key += c;
        }
        break;
      case 'preValue':
        if (NEWLINE.includes(c)) {
          state = 'preKey';
          push();
        } else if (c === "'") state = 'single';
        else if (c === '"') state = 'double';
        else if (c === '\\') state = 'valueEscape';
        else if (!WHITESPACE.includes(c)) {
          state = 'value';
          value += c;
        }
        break;
      case 'value':
        if (NEWLINE.includes(c)) {
          state = 'preKey';
          push();
        } else if (c === '\\') {
          state = 'valueEscape';
          valueTrailingBlank = -1;
        } else {
          if (!WHITESPACE.includes(c)) valueTrailingBlank = -1;
          else if (valueTrailingBlank < 0) valueTrailingBlank = value.length;
          value += c;
        }
        break;
      case 'valueEscape':
        state = 'value';
        if (!NEWLINE.includes(c)) value += c;
        break;
      case 'single':
        if (c === "'") state = 'preValue';
        else value += c;
        break;
      case 'double':
        if (c === '"') state = 'preValue';
        else if (c === '\\') state = 'doubleEscape';
        else value += c;
        break;
      case 'doubleEscape':
        state = 'double';
        if ('"\\`$'.includes(c)) value += c;
        else if (c !== '\n') value += `\\${c}`;
        break;
      case 'comment':
        if (c === '\\') state = 'commentEscape';
        else if (NEWLINE.includes(c)) state = 'preKey';
        break;
      case 'commentEscape':
        state = 'comment';
        break;
    }
  }
  if (['preValue', 'value', 'valueEscape', 'single', 'double', 'doubleEscape'].includes(state)) push();
  return env;
}
