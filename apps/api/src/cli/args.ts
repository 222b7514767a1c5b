/** `--name value` and `--flag` options after the command; positional words are refused. */
export function parseOptions(argv: string[]): Record<string, string | true> {
  const options: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('--')) throw new UsageError(`unexpected argument "${word}"`);
    const [name, inline] = word.slice(2).split('=', 2) as [string, string | undefined];
    const next = argv[i + 1];
    if (inline !== undefined) options[name] = inline;
    else if (next !== undefined && !next.startsWith('--')) {
      options[name] = next;
      i++;
    } else options[name] = true;
  }
  return options;
}

export class UsageError extends Error {}

export function requireOption(options: Record<string, string | true>, name: string): string {
  const value = options[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** An address option: the operator's commands skip the routes' schemas, so the form is checked here. */
export function requireEmailOption(options: Record<string, string | true>, name: string): string {
  const value = requireOption(options, name);
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) throw new UsageError(`--${name} must be an email address`);
  return value;
}
