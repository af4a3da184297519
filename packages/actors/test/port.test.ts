import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMesh, Codec, RingPort, type ActorId } from '../src/index.js';
import { Batch, Ping, Put, type TestMessage } from './fixtures/test-messages.js';

/** The test codec, counting how often a message is encoded (`encode` goes through `encodeInto`). */
class CountingCodec extends Codec<TestMessage> {
  encodes = 0;
  constructor() {
    super([Put, Batch, Ping]);
  }
  override encodeInto(msg: TestMessage, bytes: Uint8Array, offset: number, size: number): number {
    this.encodes++;
    return super.encodeInto(msg, bytes, offset, size);
  }
}

const put = (key: string, bytes: number): Put => ({
  kind: 'put',
  epoch: 1,
  sender: 0,
  key,
  version: 1,
  cid: 0,
  value: '\x07'.repeat(bytes),
  seq: 1,
  state: 'write',
});

function received(port: RingPort<TestMessage>): TestMessage[] {
  const out: TestMessage[] = [];
  port.poll((msg) => out.push(msg));
  return out;
}

test('a message object sent to several peers is encoded once per flush, and every peer gets it whole', () => {
  const codec = new CountingCodec();
  const links = buildMesh(4, 0);
  const ports = links.map((l) => new RingPort<TestMessage>(l, codec));
  const [sender, ...peers] = ports as [RingPort<TestMessage>, ...RingPort<TestMessage>[]];
  const a = put('a', 40);
  const b = put('b', 3);
  for (const to of [1, 2, 3] as ActorId[]) sender.send(to, a);
  sender.send(1, b);
  sender.send(2, a);
  assert.equal(codec.encodes, 3, 'a once, b once, a again after b');
  sender.flush();
  sender.send(3, a);
  assert.equal(codec.encodes, 4, 'after a flush the bytes are not reused');
  sender.flush();
  const got = peers.map(received);
  assert.deepEqual(got, [
    [a, b],
    [a, a],
    [a, a],
  ]);
});

test('a repeated message whose ring is full goes to the backlog, and one after it copies from there', () => {
  const codec = new CountingCodec();
  const ringBytes = 4096;
  const links = buildMesh(3, 0, ringBytes);
  const ports = links.map((l) => new RingPort<TestMessage>(l, codec));
  const [sender, one, two] = ports as [
    RingPort<TestMessage>,
    RingPort<TestMessage>,
    RingPort<TestMessage>,
  ];
  // Fills the ring to 1 with distinct messages, so the next one to 1 is held back.
  const filler: Put[] = [];
  while (!sender.hasBacklog()) {
    const msg = put(`f${filler.length}`, 500);
    filler.push(msg);
    sender.send(1, msg);
  }
  const big = put('big', 600);
  const before = codec.encodes;
  sender.send(1, big);
  sender.send(2, big);
  assert.equal(codec.encodes, before + 1);
  sender.flush();
  assert.deepEqual(received(two), [big]);
  const first = received(one);
  sender.flush();
  const rest = received(one);
  assert.deepEqual([...first, ...rest], [...filler, big], 'FIFO order on the link is kept');
});
