import { UsageError, type OptionTable, type OptionValues } from './command.js';

/** Rejects two options given together where the table says one excludes the other. */
export function checkExclusive(options: OptionTable, values: OptionValues): void {
  for (const [name, def] of Object.entries(options)) {
    if (values[name] === undefined) continue;
    const other = def.excludes?.find((o) => values[o] !== undefined);
    if (other !== undefined)
      throw new UsageError(`--${name} and --${other} cannot be given together`);
  }
}

/** Reads an integer flag, with a named error when it is not one or out of range. */
export function intFlag(
  values: OptionValues,
  name: string,
  fallback: number,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim())) {
    throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(raw)}`);
  }
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got ${raw}`);
  }
  return value;
}

/** Reads a comma-separated list of integers in [min, max]. */
export function intList(
  values: OptionValues,
  name: string,
  fallback: readonly number[],
  min: number,
  max: number,
): number[] {
  const raw = values[name];
  if (raw === undefined) return [...fallback];
  return String(raw)
    .split(',')
    .map((item) => intFlag({ [name]: item.trim() }, name, 0, min, max));
}

/** Reads a positive number flag (e.g. a duration). */
export function numberFlag(values: OptionValues, name: string, fallback: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value < min) {
    throw new UsageError(`--${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Reads a comma-separated list of ratios in [0, 1]. */
export function ratioList(
  values: OptionValues,
  name: string,
  fallback: readonly number[],
): number[] {
  const raw = values[name];
  if (raw === undefined) return [...fallback];
  return String(raw)
    .split(',')
    .map((item) => {
      const v = numberFlag({ [name]: item.trim() }, name, 0, 0);
      if (v > 1) throw new UsageError(`--${name}: each ratio must be in [0, 1], got ${item}`);
      return v;
    });
}

/** Reads a comma-separated list flag whose items must come from `allowed`. */
export function listFlag<T extends string>(
  values: OptionValues,
  name: string,
  allowed: readonly T[],
  fallback: readonly T[],
): T[] {
  const raw = values[name];
  if (raw === undefined) return [...fallback];
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new UsageError(`--${name} needs a comma-separated list of ${allowed.join('|')}`);
  }
  return raw.split(',').map((item) => {
    const value = item.trim();
    if (!(allowed as readonly string[]).includes(value)) {
      throw new UsageError(
        `--${name}: unknown value ${JSON.stringify(value)} (expected ${allowed.join('|')})`,
      );
    }
    return value as T;
  });
}

/** Reads a flag whose single value must come from `allowed`. */
export function choiceFlag<T extends string>(
  values: OptionValues,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const [value, ...rest] = listFlag(values, name, allowed, [fallback]);
  if (rest.length > 0)
    throw new UsageError(`--${name} takes one value, got ${String(values[name])}`);
  return value as T;
}
