import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  readStrategyOptions,
  RecoveryMeter,
  type RecoveryContext,
  type StrategyMessage,
} from '@heal/kv/replica';
import { healFaults, HEAL_TEST_FAULTS } from '../src/heal-faults.js';
import { HEAL_MESSAGES } from '../src/heal-messages.js';
import { healRecovery } from '../src/heal-recovery.js';

/** Unit tests of HEAL's options, its test faults and the recovery meter every strategy reports with. */

test('strategy options: bad values are named', () => {
  const o = readStrategyOptions('s', {
    n: 1,
    zero: 0,
    frac: 1.5,
    text: '7',
    key: '00112233445566778899AABBCCDDEEFF',
    short: '00112233445566778899aabbccddee',
    odd: 'g0112233445566778899aabbccddeeff',
    none: '',
    num: 5,
  });
  assert.equal(o.positiveInt('n', 9), 1);
  assert.equal(o.positiveInt('missing', 9), 9);
  assert.throws(
    () => o.positiveInt('zero', 9),
    /^RangeError: s option zero must be a positive integer, got 0$/,
  );
  assert.throws(
    () => o.positiveInt('frac', 9),
    /s option frac must be a positive integer, got 1\.5/,
  );
  assert.throws(
    () => o.positiveInt('text', 9),
    /s option text must be a positive integer, got "7"/,
  );
  assert.deepEqual(
    o.hexKey('key'),
    Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex')),
  );
  assert.equal(o.hexKey('missing'), undefined);
  assert.equal(o.hexKey('none'), undefined, 'empty: no key');
  assert.throws(
    () => o.hexKey('short'),
    /s option short must be a hex string of at least 16 bytes, got "00112233445566778899aabbccddee"/,
  );
  assert.throws(() => o.hexKey('odd'), /s option odd must be a hex string of at least 16 bytes/);
  assert.throws(
    () => o.hexKey('num'),
    /s option num must be a hex string of at least 16 bytes, got 5/,
  );
});

test('heal options: bufferBytes, clusterKey and testFault are checked when the strategy is made', () => {
  assert.throws(
    () => healRecovery.create(0, { bufferBytes: 0 }),
    /heal option bufferBytes must be a positive integer, got 0/,
  );
  assert.throws(
    () => healRecovery.create(0, { clusterKey: 'xyz' }),
    /heal option clusterKey must be a hex string/,
  );
  assert.throws(
    () => healRecovery.create(0, { testFault: 'nope' }),
    /heal option testFault must be one of skip-selected\|omit-handoff\|vv-overclaim\|descent-skips-bucket, got "nope"/,
  );
  assert.equal(healRecovery.create(0, {}).name, 'heal');
});

test('test faults: each name sets its one fault; none by default', () => {
  assert.deepEqual(healFaults({}), {
    skipSelected: false,
    omitHandoff: false,
    vvOverclaim: false,
    descentSkipsBucket: false,
  });
  const set = HEAL_TEST_FAULTS.map((testFault) =>
    Object.entries(healFaults({ testFault }))
      .filter(([, on]) => on)
      .map(([name]) => name),
  );
  assert.deepEqual(set, [
    ['skipSelected'],
    ['omitHandoff'],
    ['vvOverclaim'],
    ['descentSkipsBucket'],
  ]);
});

test('the recovery meter: phases as consecutive intervals from the restart, bytes, entries and counts; nothing before begin', () => {
  const meter = new RecoveryMeter('heal', HEAL_MESSAGES);
  const msg = {
    kind: 'heal-batch-ack',
    epoch: 3,
    sender: 2,
    session: 1,
    batch: 0,
  } as unknown as StrategyMessage;
  meter.phase('x', 1);
  meter.received(msg);
  meter.entries(5, 5);
  meter.count('c');
  meter.finish('y', 2);
  assert.equal(meter.active, false);
  assert.equal(meter.report(), undefined, 'nothing measured before begin');
  meter.begin({ incarnation: 2, startedMs: 100, loadedMs: 130 } as RecoveryContext);
  assert.equal(meter.active, true);
  meter.phase('join', 150);
  meter.phase('exchange', 190);
  meter.phase('join', 200);
  assert.throws(
    () => meter.phase('late', 199),
    /phase late ends at 199 ms, before the previous one \(200 ms\)/,
  );
  meter.received(msg);
  meter.received(msg);
  meter.entries(4, 3);
  meter.entries(2, 0);
  meter.count('sessions');
  meter.count('sessions');
  meter.count('skipped', 7);
  meter.finish('finalize', 260);
  assert.equal(meter.active, false);
  const report = meter.report();
  assert.ok(report);
  assert.ok(
    report.bytesMoved > 0 && report.bytesMoved % 2 === 0,
    `bytes of two equal messages: ${report.bytesMoved}`,
  );
  assert.deepEqual(
    { ...report, bytesMoved: 0 },
    {
      strategy: 'heal',
      incarnation: 2,
      startedMs: 100,
      recoveryMs: 160,
      phasesMs: { load: 30, join: 30, exchange: 40, finalize: 60 },
      bytesMoved: 0,
      entriesReceived: 6,
      entriesApplied: 3,
      counts: { sessions: 2, skipped: 7 },
    },
  );
  meter.begin({ incarnation: 3, startedMs: 300, loadedMs: 300 } as RecoveryContext);
  assert.equal(meter.report(), undefined, 'a new recovery clears the last report');
});
