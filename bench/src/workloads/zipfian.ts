/**
 * Zipfian key choosers, ported from YCSB (brianfrankcooper/YCSB,
 * core/src/main/java/site/ycsb/generator/ZipfianGenerator.java and
 * ScrambledZipfianGenerator.java, with fnvhash64 from core/src/main/java/site/ycsb/Utils.java).
 * The algorithm is from Gray et al., "Quickly generating billion-record synthetic databases"
 * (SIGMOD 1994). Randomness is passed in, so a seeded source replays the same sequence.
 */
import { Fnv1a64 } from '@heal/base';

/** YCSB's ZipfianGenerator.ZIPFIAN_CONSTANT. */
export const ZIPFIAN_CONSTANT = 0.99;

/** Terms of zeta summed exactly; beyond them the tail comes from Euler-Maclaurin. */
const ZETA_EXACT_TERMS = 1 << 16;

/**
 * zeta(n, theta) = sum over i in 1..n of 1 / i^theta. YCSB sums all n terms (linear in n,
 * hence its precomputed ZETAN); we sum the first ZETA_EXACT_TERMS and add the Euler-Maclaurin
 * estimate of the tail (integral, endpoint and first-derivative terms), whose error is below
 * |f'''(a)| / 720 ~ 1e-21 at a = 2^16, so the result is as good as the exact sum.
 */
export function zeta(n: number, theta: number): number {
  checkTheta(theta);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`n must be a positive integer, got ${n}`);
  }
  const head = Math.min(n, ZETA_EXACT_TERMS);
  let sum = 0;
  for (let i = 1; i <= head; i++) sum += 1 / Math.pow(i, theta);
  if (n === head) return sum;
  const a = head;
  const f = (x: number): number => Math.pow(x, -theta);
  const df = (x: number): number => -theta * Math.pow(x, -theta - 1);
  const integral = (Math.pow(n, 1 - theta) - Math.pow(a, 1 - theta)) / (1 - theta);
  return sum + integral + (f(n) - f(a)) / 2 + (df(n) - df(a)) / 12;
}

/**
 * Ranks in [0, items) with P(rank i) proportional to 1 / (i + 1)^theta; rank 0 is the most
 * popular. One Math.pow per draw.
 */
export class ZipfianGenerator {
  readonly items: number;
  readonly theta: number;
  readonly zetan: number;
  private readonly alpha: number;
  private readonly eta: number;
  /** Draws below this are rank 1 (after rank 0 for draws below 1). */
  private readonly rank1Bound: number;

  /** `zetan` may be given when precomputed (YCSB's ScrambledZipfianGenerator does). */
  constructor(items: number, theta = ZIPFIAN_CONSTANT, zetan?: number) {
    if (!Number.isSafeInteger(items) || items < 1) {
      throw new RangeError(`items must be a positive integer, got ${items}`);
    }
    checkTheta(theta);
    this.items = items;
    this.theta = theta;
    this.zetan = zetan ?? zeta(items, theta);
    const zeta2theta = 1 + Math.pow(0.5, theta);
    this.alpha = 1 / (1 - theta);
    // With items <= 2 every draw ends at rank 0 or 1 before eta (then +-Infinity) is used.
    this.eta = (1 - Math.pow(2 / items, 1 - theta)) / (1 - zeta2theta / this.zetan);
    this.rank1Bound = zeta2theta;
  }

  next(random: () => number): number {
    const u = random();
    const uz = u * this.zetan;
    if (uz < 1) return 0;
    if (uz < this.rank1Bound) return 1;
    const rank = Math.floor(this.items * Math.pow(this.eta * u - this.eta + 1, this.alpha));
    // A u just below 1 can round the power up to 1, which would give `items`.
    return Math.min(rank, this.items - 1);
  }
}

/** ScrambledZipfianGenerator.ITEM_COUNT: ranks are drawn from this many items, then hashed. */
const SCRAMBLED_ITEM_COUNT = 10_000_000_000;
/** ScrambledZipfianGenerator.ZETAN: zeta(ITEM_COUNT, 0.99), precomputed by YCSB. */
export const SCRAMBLED_ZETAN = 26.46902820178302;
/**
 * Most items a ScrambledZipfianGenerator takes: the 64-bit hash is reduced modulo `items`
 * with products of two residues, which stay exact in doubles while items^2 < 2^53.
 */
export const MAX_SCRAMBLED_ITEMS = 2 ** 26;

/**
 * Zipfian popularity with the popular items spread over [0, items): a rank from a zipfian
 * over 10^10 items is FNV-hashed and taken modulo `items`, as in YCSB (which CoreWorkload
 * uses for requestdistribution=zipfian). The hot set is therefore a little flatter than a
 * plain zipfian over `items`: ranks beyond `items` land on the same keys as hot ranks.
 */
export class ScrambledZipfianGenerator {
  readonly items: number;
  private readonly ranks = new ZipfianGenerator(
    SCRAMBLED_ITEM_COUNT,
    ZIPFIAN_CONSTANT,
    SCRAMBLED_ZETAN,
  );
  /** 2^32 mod items, to reduce the hash's high word. */
  private readonly wordModItems: number;

  constructor(items: number) {
    if (!Number.isSafeInteger(items) || items < 1 || items > MAX_SCRAMBLED_ITEMS) {
      throw new RangeError(`items must be an integer in [1, ${MAX_SCRAMBLED_ITEMS}], got ${items}`);
    }
    this.items = items;
    this.wordModItems = 2 ** 32 % items;
  }

  next(random: () => number): number {
    const [hi, lo] = fnvhash64(this.ranks.next(random));
    return ((hi % this.items) * this.wordModItems + (lo % this.items)) % this.items;
  }
}

const WORD = 2 ** 32;

/**
 * YCSB's Utils.fnvhash64 of a non-negative integer below 2^53: FNV-1a over its 8 little-endian
 * bytes, then Math.abs of the signed result. Returned as [high, low] 32-bit words, because
 * doubles cannot hold 64 bits.
 */
export function fnvhash64(value: number): [number, number] {
  const h = new Fnv1a64();
  const valueLo = value >>> 0;
  const valueHi = Math.floor(value / WORD);
  for (let i = 0; i < 8; i++)
    h.add((i < 4 ? valueLo >>> (8 * i) : valueHi >>> (8 * (i - 4))) & 0xff);
  let hi = h.hi;
  let lo = h.lo;
  if (hi >= 2 ** 31) {
    // Two's-complement negation of the 64-bit value (Java's Math.abs on a negative long).
    lo = (WORD - lo) % WORD;
    hi = (WORD - 1 - hi + (lo === 0 ? 1 : 0)) % WORD;
  }
  return [hi, lo];
}

function checkTheta(theta: number): void {
  if (!(theta > 0 && theta < 1)) {
    throw new RangeError(`theta must be in (0, 1), got ${theta}`);
  }
}
