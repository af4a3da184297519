import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveTimeout } from '../src/protocol/adaptive-timeout.js';

test('an adaptive timeout stays at its floor while latencies are short', () => {
  const t = new AdaptiveTimeout();
  assert.equal(t.timeoutMs(50), 50);
  for (let i = 0; i < 100; i++) t.observe(2);
  assert.equal(t.timeoutMs(50), 50);
});

test('an adaptive timeout grows past its floor under slow answers and covers their tail', () => {
  const t = new AdaptiveTimeout();
  for (let i = 0; i < 100; i++) t.observe(i % 10 === 0 ? 120 : 20);
  // The mean is 30 ms, but one answer in ten takes 120 ms: the timeout must not fire on those.
  assert.ok(t.timeoutMs(50) >= 2 * 120 * 0.9, `timeout ${t.timeoutMs(50)} covers the 120 ms tail`);
});

test('an adaptive timeout forgets a past burst and comes back to its floor', () => {
  const t = new AdaptiveTimeout();
  for (let i = 0; i < 50; i++) t.observe(400);
  assert.ok(t.timeoutMs(50) >= 400);
  for (let i = 0; i < 5000; i++) t.observe(5);
  assert.equal(t.timeoutMs(50), 50);
});

test('an adaptive timeout ignores samples that are not latencies', () => {
  const t = new AdaptiveTimeout();
  t.observe(Number.NaN);
  t.observe(-1);
  assert.equal(t.timeoutMs(50), 50);
});
