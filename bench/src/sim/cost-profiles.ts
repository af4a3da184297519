import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateCostProfile, type CostProfile } from '@heal/kv/sim';

/** `bench/profiles`, the cost profiles that ship with the repository (this module is in bench/dist/src/sim). */
export const PROFILES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../profiles');
/** The profile `default` names: measured on the machine the repository's results come from. */
export const DEFAULT_PROFILE_PATH = join(PROFILES_DIR, 'default.json');
/** `bench/profiles/default.json` as help shows it. */
export const DEFAULT_PROFILE_NAME = 'bench/profiles/default.json';

/** The repository's root (bench/profiles is two levels below it). */
const REPO_ROOT = join(PROFILES_DIR, '../..');

/** A profile's path as reports show it: relative to the repository when it is inside it. */
export function profileShownPath(path: string): string {
  const inRepo = relative(REPO_ROOT, path);
  return inRepo.startsWith('..') || isAbsolute(inRepo) ? path : inRepo;
}

/** A profile and where it came from, as reports name it. */
export interface LoadedProfile {
  profile: CostProfile;
  path: string;
}

/** Reads the profile `spec` names: `default`, or a file; a bad file is a RangeError naming it and the field. */
export function loadCostProfile(spec: string): LoadedProfile {
  const path = spec === 'default' ? DEFAULT_PROFILE_PATH : resolve(spec);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RangeError(`cost profile ${path}: cannot read it (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RangeError(`cost profile ${path}: not JSON (${(err as Error).message})`);
  }
  return { profile: validateCostProfile(json, path), path };
}
