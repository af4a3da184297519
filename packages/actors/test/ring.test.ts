import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Prng } from '@heal/base';
import {
  Doorbell,
  kDoorbellSequenceIndex,
  kHeadIndex,
  kRingHeaderBytes,
  kTailIndex,
  kWrapMarker,
  RingError,
  SpscRing,
} from '../src/index.js';
import { checkRecord, readU32, recordLength, writeRecord } from './ring-records.js';

/** Collects every visible record as a copy. */
function drain(ring: SpscRing, max?: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  ring.poll((bytes, offset, length) => out.push(bytes.slice(offset, offset + length)), max);
  return out;
}

function bytesOf(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

describe('SpscRing sizing and limits', () => {
  test('bytesFor is the header plus the capacity, and rejects bad capacities by name', () => {
    assert.equal(SpscRing.bytesFor(1024), kRingHeaderBytes + 1024);
    for (const bad of [0, 8, 1020, 1.5, -64, Number.NaN, 2 ** 31]) {
      assert.throws(
        () => SpscRing.bytesFor(bad),
        (e: unknown) => e instanceof RingError && /capacityBytes/.test(e.message),
      );
    }
  });

  test('a record larger than maxRecordBytes throws a RingError naming its size and the limit', () => {
    const ring = SpscRing.create(1024);
    assert.equal(ring.maxRecordBytes, 508);
    assert.throws(
      () => ring.reserve(509),
      (e: unknown) =>
        e instanceof RingError &&
        /509 bytes/.test(e.message) &&
        /maxRecordBytes 508/.test(e.message),
    );
    assert.throws(
      () => ring.tryWrite(new Uint8Array(4096)),
      /4096 bytes is larger than maxRecordBytes 508/,
    );
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 32]) {
      assert.throws(() => ring.reserve(bad), RingError);
    }
    assert.ok(ring.isEmpty(), 'a rejected record leaves nothing behind');
  });

  test('a record of maxRecordBytes fits into an empty ring wherever its indices are', () => {
    for (let position = 0; position < 256; position += 4) {
      const ring = SpscRing.create(256);
      // Move both indices to `position`: a zero-length record is exactly one length word.
      for (let moved = 0; moved < position; moved += 4) {
        assert.ok(ring.tryWrite(new Uint8Array(0)));
        ring.publish();
        assert.equal(
          ring.poll(() => {}),
          1,
        );
      }
      assert.ok(
        ring.tryWrite(new Uint8Array(ring.maxRecordBytes).fill(7)),
        `max record fits at position ${position}`,
      );
      ring.publish();
      assert.deepEqual(drain(ring), [new Uint8Array(ring.maxRecordBytes).fill(7)]);
    }
  });
});

describe('SpscRing empty, full and publication', () => {
  test('records are invisible until publish, then delivered in order once', () => {
    const ring = SpscRing.create(64);
    assert.ok(ring.isEmpty());
    assert.equal(
      ring.poll(() => assert.fail('nothing to poll')),
      0,
    );
    assert.ok(ring.tryWrite(bytesOf(1, 2, 3)));
    assert.ok(ring.tryWrite(bytesOf(4)));
    assert.ok(ring.isEmpty(), 'committed but not published');
    ring.publish();
    assert.ok(!ring.isEmpty());
    assert.deepEqual(drain(ring), [bytesOf(1, 2, 3), bytesOf(4)]);
    assert.ok(ring.isEmpty());
    assert.deepEqual(ring.stats(), { published: 2, polled: 2, fullRejects: 0, discarded: 0 });
  });

  test('a full ring rejects writes and counts them, and has room again once polled', () => {
    const ring = SpscRing.create(64);
    const record = new Uint8Array(12); // 16 bytes with its length word
    let written = 0;
    while (ring.tryWrite(record.fill(written))) written++;
    assert.equal(written, 3, 'one gap is kept: 3 x 16 bytes in 64');
    assert.equal(ring.reserve(12), -1);
    assert.equal(ring.stats().fullRejects, 2);
    ring.publish();
    assert.equal(
      ring.poll(() => {}, 1),
      1,
    );
    assert.ok(ring.tryWrite(record.fill(9)), 'room after the consumer released one record');
    ring.publish();
    assert.deepEqual(
      drain(ring).map((r) => r[0]),
      [1, 2, 9],
    );
  });

  test('poll hands out at most max records', () => {
    const ring = SpscRing.create(256);
    for (let i = 0; i < 5; i++) ring.tryWrite(bytesOf(i));
    ring.publish();
    assert.deepEqual(
      drain(ring, 2).map((r) => r[0]),
      [0, 1],
    );
    assert.deepEqual(
      drain(ring).map((r) => r[0]),
      [2, 3, 4],
    );
    assert.throws(() => {
      ring.tryWrite(bytesOf(0));
      ring.publish();
      ring.poll(() => {}, 0);
    }, /max must be >= 1/);
  });

  test('commit may shorten the reservation, and needs one', () => {
    const ring = SpscRing.create(256);
    assert.throws(() => ring.commit(), /no reservation/);
    const at = ring.reserve(100);
    ring.bytes.set([5, 6], at);
    assert.throws(() => ring.commit(101), /\[0, 100\]/);
    ring.commit(2);
    ring.publish();
    assert.deepEqual(drain(ring), [bytesOf(5, 6)]);
    assert.throws(() => ring.commit(), /no reservation/);
  });

  test('a handler that throws consumes its record, and the error propagates', () => {
    const ring = SpscRing.create(256);
    for (let i = 0; i < 3; i++) ring.tryWrite(bytesOf(i));
    ring.publish();
    assert.throws(
      () =>
        ring.poll((bytes, offset) => {
          if (bytes[offset] === 1) throw new Error('boom');
        }),
      /boom/,
    );
    assert.deepEqual(
      drain(ring).map((r) => r[0]),
      [2],
    );
  });

  test('poll cannot be re-entered from its handler', () => {
    const ring = SpscRing.create(256);
    ring.tryWrite(bytesOf(1));
    ring.tryWrite(bytesOf(2));
    ring.publish();
    assert.throws(() => ring.poll(() => ring.poll(() => {})), /inside a poll handler/);
  });
});

describe('SpscRing wraparound', () => {
  test('a record that does not fit before the end leaves a wrap marker and starts at 0', () => {
    const ring = SpscRing.create(128);
    const words = new Uint32Array(ring.sab, kRingHeaderBytes, 128 / 4);
    const pass = (length: number, fill: number): number => {
      const at = ring.reserve(length);
      assert.ok(at >= 0, `room for ${length} bytes`);
      ring.bytes.fill(fill, at, at + length);
      ring.commit();
      ring.publish();
      const got = drain(ring);
      assert.deepEqual(got, [new Uint8Array(length).fill(fill)]);
      return at;
    };
    assert.equal(pass(56, 1), 4); // [0, 60)
    assert.equal(pass(60, 2), 64); // [60, 124)
    assert.equal(pass(0, 3), 128); // [124, 128): ends exactly at the end, no marker
    assert.equal(pass(8, 4), 4); // [0, 12)
    assert.equal(pass(60, 5), 16); // [12, 76)
    // 56 bytes need 60: 76 + 60 > 128, so a wrap marker at 76 and the record at [0, 60)
    assert.ok(ring.tryWrite(new Uint8Array(56).fill(6)));
    assert.equal(words[76 / 4], kWrapMarker);
    assert.equal(words[0], 56);
    ring.publish();
    assert.deepEqual(drain(ring), [new Uint8Array(56).fill(6)]);
    assert.deepEqual(ring.stats(), { published: 6, polled: 6, fullRejects: 0, discarded: 0 });
  });

  test('seeded random operations deliver exactly the written records, in order', () => {
    const seed = 20240611;
    const prng = new Prng(seed);
    const ring = SpscRing.create(512);
    let written = 0;
    let read = 0;
    for (let step = 0; step < 60_000; step++) {
      const action = prng.u32() % 10;
      if (action < 6) {
        const length = recordLength(seed, written, ring.maxRecordBytes);
        const at = ring.reserve(length);
        if (at >= 0) {
          writeRecord(ring.bytes, at, length, seed, 0, written++);
          ring.commit();
        }
      } else if (action < 8) {
        ring.publish();
      } else {
        ring.poll(
          (bytes, offset, length) => {
            const problem = checkRecord(bytes, offset, length, seed, ring.maxRecordBytes, read++);
            assert.equal(problem, undefined, `seed=${seed} step=${step}: ${problem}`);
          },
          1 + (prng.u32() % 8),
        );
      }
    }
    ring.publish();
    ring.poll((bytes, offset, length) => {
      assert.equal(
        checkRecord(bytes, offset, length, seed, ring.maxRecordBytes, read++),
        undefined,
      );
    });
    assert.equal(read, written);
    assert.ok(written > 10_000, `enough traffic (${written} records)`);
    const stats = ring.stats();
    assert.equal(stats.published, written);
    assert.equal(stats.polled, written);
    assert.ok(stats.fullRejects > 0, 'the ring was full sometimes');
  });
});

describe('SpscRing attach', () => {
  test('another handle on the same buffer sees the published records and shares the doorbell', () => {
    const producer = SpscRing.create(128);
    const consumer = new SpscRing(producer.sab);
    assert.equal(consumer.doorbell.id, producer.doorbell.id);
    producer.tryWrite(bytesOf(42));
    producer.publish();
    assert.deepEqual(drain(consumer), [bytesOf(42)]);
  });

  test('a header that is not a valid ring is refused with a RingError naming the field', () => {
    const ring = SpscRing.create(128);
    const header = new Int32Array(ring.sab, 0, kRingHeaderBytes / 4);
    assert.throws(() => new SpscRing(new SharedArrayBuffer(SpscRing.bytesFor(128))), /bad magic/);
    assert.throws(
      () => new SpscRing(new ArrayBuffer(1024) as unknown as SharedArrayBuffer),
      /expected a SharedArrayBuffer, got ArrayBuffer/,
    );
    assert.throws(() => new SpscRing(new SharedArrayBuffer(100)), /smaller than a ring/);
    const bigger = new SharedArrayBuffer(SpscRing.bytesFor(256));
    new Uint8Array(bigger).set(new Uint8Array(ring.sab));
    assert.throws(() => new SpscRing(bigger), /capacityBytes 128 does not match/);
    header[kTailIndex] = 128;
    assert.throws(
      () => new SpscRing(ring.sab),
      /tail 128 is not a 4-byte aligned offset in \[0, 128\)/,
    );
    header[kTailIndex] = 0;
    header[kHeadIndex] = 6;
    assert.throws(() => new SpscRing(ring.sab), /head 6/);
    header[kHeadIndex] = 0;
    assert.ok(new SpscRing(ring.sab));
  });

  test('a ring made with an external doorbell must be attached with that doorbell', () => {
    const doorbell = Doorbell.create();
    const ring = SpscRing.create(128, doorbell);
    assert.throws(() => new SpscRing(ring.sab), /external doorbell/);
    assert.throws(() => new SpscRing(ring.sab, Doorbell.create()), /not the ring's doorbell/);
    const attached = new SpscRing(ring.sab, new Doorbell(doorbell.sab));
    assert.equal(attached.doorbell.id, doorbell.id);
    assert.throws(() => new SpscRing(SpscRing.create(128).sab, doorbell), /its own doorbell/);
  });

  test('a restarted producer resumes from the published tail; unpublished records never appear', () => {
    const first = SpscRing.create(128);
    first.tryWrite(bytesOf(1));
    first.publish();
    first.tryWrite(bytesOf(2)); // committed, never published: its producer "crashes"
    const at = first.reserve(8); // and a half-written one
    first.bytes.fill(0xee, at, at + 4);
    const restarted = new SpscRing(first.sab);
    restarted.tryWrite(bytesOf(3));
    restarted.publish();
    assert.deepEqual(drain(new SpscRing(first.sab)), [bytesOf(1), bytesOf(3)]);
  });
});

describe('SpscRing discardAll', () => {
  test('skips every visible record, counts them, and later records are delivered', () => {
    const ring = SpscRing.create(128);
    for (let i = 0; i < 5; i++) ring.tryWrite(bytesOf(i));
    ring.publish();
    ring.tryWrite(bytesOf(5)); // not yet published: survives the discard
    assert.equal(ring.discardAll(), 5);
    assert.ok(ring.isEmpty());
    ring.publish();
    assert.deepEqual(drain(ring), [bytesOf(5)]);
    assert.deepEqual(ring.stats(), { published: 6, polled: 1, fullRejects: 0, discarded: 5 });
    assert.equal(ring.discardAll(), 0);
  });
});

describe('SpscRing waitForSpace', () => {
  test('returns at once when the record fits, and publishes what was committed', () => {
    const ring = SpscRing.create(64);
    ring.tryWrite(bytesOf(1));
    assert.equal(ring.waitForSpace(8), true);
    assert.deepEqual(drain(ring), [bytesOf(1)]);
  });

  test('gives up after timeoutMs when the ring stays full', () => {
    const ring = SpscRing.create(64);
    while (ring.tryWrite(new Uint8Array(12)));
    assert.equal(ring.waitForSpace(12, 1), false);
    assert.equal(ring.stats().published, 3, 'published before waiting');
  });

  test('the async wait is woken by the consumer releasing space', async () => {
    const ring = SpscRing.create(64);
    while (ring.tryWrite(new Uint8Array(12)));
    const waited = ring.waitForSpaceAsync(12);
    assert.equal(
      ring.poll(() => {}, 1),
      1,
    );
    assert.equal(await waited, true);
    assert.ok(ring.tryWrite(new Uint8Array(12)));
  });
});

describe('Doorbell', () => {
  test('wait resolves at once when the consumer is not empty, without sleeping', async () => {
    const doorbell = Doorbell.create();
    await doorbell.wait(() => false);
    assert.ok(!doorbell.isSleeping());
  });

  test('a publish wakes a sleeping consumer', async () => {
    const ring = SpscRing.create(128);
    const woken = ring.doorbell.wait(() => ring.isEmpty());
    assert.ok(ring.doorbell.isSleeping());
    ring.tryWrite(bytesOf(7));
    ring.publish();
    await woken;
    assert.ok(!ring.doorbell.isSleeping());
    assert.deepEqual(drain(ring), [bytesOf(7)]);
  });

  test('of several producers ringing one sleeping consumer, only the first notifies; the consumer sees every ring', async () => {
    const doorbell = Doorbell.create();
    const words = new Int32Array(doorbell.sab);
    const rings = [SpscRing.create(128, doorbell), SpscRing.create(128, doorbell)];
    const woken = doorbell.wait(() => rings.every((ring) => ring.isEmpty()));
    rings.forEach((ring, i) => {
      ring.tryWrite(bytesOf(i));
      ring.publish();
    });
    assert.equal(
      words[kDoorbellSequenceIndex],
      1,
      'one bump: the second producer found the flag cleared',
    );
    assert.ok(!doorbell.isSleeping());
    await woken;
    assert.deepEqual(
      rings.map((ring) => drain(ring)),
      [[bytesOf(0)], [bytesOf(1)]],
    );
  });

  test('wait times out when nobody rings', async () => {
    const doorbell = Doorbell.create();
    await doorbell.wait(() => true, 1);
    assert.ok(!doorbell.isSleeping());
  });

  test('ring costs nothing but a load when the consumer is awake', () => {
    const doorbell = Doorbell.create();
    const words = new Int32Array(doorbell.sab);
    doorbell.ring();
    assert.equal(words[kDoorbellSequenceIndex], 0);
  });

  test('a second attach to the same memory has the same identity; garbage is refused', () => {
    const sab = new SharedArrayBuffer(256);
    const a = new Doorbell(sab, 64);
    assert.equal(new Doorbell(sab, 64).id, a.id);
    new Int32Array(sab)[2] = 12345;
    assert.throws(() => new Doorbell(sab, 0), /bad magic/);
    assert.throws(() => new Doorbell(sab, 224), /exceeds/);
    assert.throws(() => new Doorbell(sab, 2), /multiple of 4/);
  });
});

describe('test record helpers', () => {
  test('a corrupted byte, a wrong length or a wrong sequence number is reported', () => {
    const seed = 1;
    const length = recordLength(seed, 0, 10_000);
    const bytes = new Uint8Array(length);
    writeRecord(bytes, 0, length, seed, 0, 0);
    assert.equal(readU32(bytes, 0), 0);
    assert.equal(checkRecord(bytes, 0, length, seed, 10_000, 0), undefined);
    assert.match(
      checkRecord(bytes, 0, length, seed, 10_000, 1) ?? '',
      /expected seq 1, got 0 \(duplicate\)/,
    );
    assert.match(checkRecord(bytes, 0, length - 1, seed, 10_000, 0) ?? '', /length/);
    bytes[length - 1]! ^= 1;
    assert.match(checkRecord(bytes, 0, length, seed, 10_000, 0) ?? '', /checksum/);
  });
});
