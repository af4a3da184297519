import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PERSISTENCY_MODELS, replicaConfigOf, THREAD_TIMING, warmUpReplica } from '@heal/kv';
import { healReplicaModule, RUNNABLE_STRATEGIES } from '../src/heal-module.js';

test('a replica worker warms up every strategy under every persistency model: the scratch replica recovers', () => {
  assert.equal(typeof healReplicaModule.warmUp, 'function', 'the module warms its workers');
  for (const strategy of RUNNABLE_STRATEGIES) {
    for (const model of PERSISTENCY_MODELS) {
      const config = replicaConfigOf(6, THREAD_TIMING, {
        strategy,
        model,
        medium: 'pmem',
        dataDir: '/nonexistent/the-warm-up-uses-its-own',
        pmemCapacity: 200_000,
      });
      const report = warmUpReplica(healReplicaModule, config, Infinity);
      assert.equal(report.recovered, true, `${strategy} ${model}: ${JSON.stringify(report)}`);
      assert.ok(report.recoveredEntries >= 600, `${strategy} ${model}: ${JSON.stringify(report)}`);
    }
  }
});
