// A client process for the lease tests (test/places-leases.test.ts), killed by the test while it holds a lock.
//   lock PORT OFFSET VERSION  take kv's slot seqlock at OFFSET (CAS VERSION → VERSION+1, as a put does), print "locked", hang
//   half PORT OFFSET VERSION KEY  the same, then write the first 14 bytes of a new record for KEY (length 9,
//                             key, "ne") with one REGION_WRITE, print "wrote", hang: a put that died half way
//   puts PORT                 run kv puts at the client place in a loop, printing "ack" after each
import { connect } from '../engine/client/index.ts';

const [mode, port, offset, version, key] = process.argv.slice(2);
const client = await connect(Number(port));
if (mode === 'lock') {
  const old = await client.atomic('kv', 0, 'CAS_U32', Number(offset), BigInt(version!), BigInt(version!) + 1n);
  console.log(old === BigInt(version!) ? 'locked' : `not locked: ${old}`);
  setInterval(() => {}, 1000);
} else if (mode === 'half') {
  const old = await client.atomic('kv', 0, 'CAS_U32', Number(offset), BigInt(version!), BigInt(version!) + 1n);
  if (old !== BigInt(version!)) console.log(`not locked: ${old}`);
  const half = Buffer.alloc(14);
  half.writeUInt32LE(9); // 'new value' is 9 bytes; only "ne" of it is sent
  half.writeBigUInt64LE(BigInt(key!), 4);
  half.write('ne', 12);
  await client.writeRegion('kv', 0, Number(offset) + 4, half);
  console.log('wrote');
  setInterval(() => {}, 1000);
} else {
  for (let i = 0; ; i++) {
    const k = Buffer.alloc(8 + 6);
    k.writeBigUInt64LE(BigInt((i % 16) + 1));
    k.write(`v${String(i).padStart(5, '0')}`, 8);
    await client.send('kv/put', k, { place: 'client' });
    console.log('ack');
  }
}
