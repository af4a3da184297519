/**
 * The hashes every package uses: FNV-1a over UTF-16 code units (32 and 64 bits) and
 * MurmurHash3's body step and finaliser. Non-cryptographic: they spread keys over slots and
 * buckets and fingerprint traces; an adversary can collide them.
 *
 * 32-bit results stay int32 (`| 0` or `Math.imul`, never `>>> 0`): V8 boxes a returned number
 * outside the int32 range, which would allocate on every call in the hot paths (RecordIndex
 * lookups, BucketDigest.update on every apply). Typed-array stores wrap them as they need.
 */

/** FNV-1a's 32-bit offset basis, as an int32. */
export const FNV1A_32_OFFSET = 0x811c9dc5 | 0;
const FNV1A_32_PRIME = 0x01000193;

/** Folds one code unit (or byte) into a running 32-bit FNV-1a hash. */
export function fnv1aStep(h: number, unit: number): number {
  return Math.imul(h ^ unit, FNV1A_32_PRIME);
}

/** 32-bit FNV-1a over the UTF-16 code units of `text`. Its low bits mix poorly: see `fmix32`. */
export function fnv1a32(text: string): number {
  let h = FNV1A_32_OFFSET;
  for (let i = 0; i < text.length; i++) h = fnv1aStep(h, text.charCodeAt(i));
  return h;
}

/** One MurmurHash3 body step: folds the 32-bit word `k` into the running hash `h`. */
export function murmur3Step(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finaliser: every input bit affects every output bit (FNV's low bits do not). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** FNV's 64-bit prime is 2^40 + 0x1b3: h * prime = h * 0x1b3 + (h << 40). */
const FNV1A_64_PRIME_LOW = 0x1b3;
const TWO_POW_32 = 0x1_0000_0000;

/**
 * A running 64-bit FNV-1a hash, in two 32-bit halves (a double cannot hold 64 bits and BigInt
 * allocates on every step). The halves are kept as int32 so that V8 stores them unboxed.
 */
export class Fnv1a64 {
  #hi = 0xcbf29ce4 | 0;
  #lo = 0x84222325 | 0;

  /** Folds in one unit below 2^16 (a byte or a UTF-16 code unit), so `lo * 0x1b3` stays exact. */
  add(unit: number): void {
    const lo = (this.#lo ^ unit) >>> 0;
    const loMul = lo * FNV1A_64_PRIME_LOW;
    this.#hi =
      (Math.imul(this.#hi, FNV1A_64_PRIME_LOW) +
        Math.imul(lo, 0x100) +
        Math.floor(loMul / TWO_POW_32)) |
      0;
    this.#lo = loMul | 0;
  }

  /** Folds in the UTF-16 code units of `text`. */
  addString(text: string): void {
    for (let i = 0; i < text.length; i++) this.add(text.charCodeAt(i));
  }

  /** The high 32 bits, in [0, 2^32). */
  get hi(): number {
    return this.#hi >>> 0;
  }

  /** The low 32 bits, in [0, 2^32). */
  get lo(): number {
    return this.#lo >>> 0;
  }

  /** 16 lowercase hex characters, high half first. */
  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}
