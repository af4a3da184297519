import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAL_REPLICA_MODULE, healReplicaModule } from '../src/heal-module.js';

test('the replica module reference names this module, whose default export a worker loads', async () => {
  // A worker imports `url` and takes its default export (no exportName): it must be this module.
  assert.equal(HEAL_REPLICA_MODULE.exportName, undefined);
  const namespace = (await import(HEAL_REPLICA_MODULE.url)) as Record<string, unknown>;
  assert.equal(namespace['default'], healReplicaModule);
  assert.equal(namespace['HEAL_REPLICA_MODULE'], HEAL_REPLICA_MODULE);
});
