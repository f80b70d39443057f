// A client process for the lease tests (test/places-leases.test.ts), killed by the test while it holds a lock.
//   lock PORT OFFSET VERSION  take kv's slot seqlock at OFFSET (CAS VERSION → VERSION+1, as a put does), print "locked", hang
//   puts PORT                 run kv puts at the client place in a loop, printing "ack" after each
import { connect } from '../engine/client/index.ts';

const [mode, port, offset, version] = process.argv.slice(2);
const client = await connect(Number(port));
if (mode === 'lock') {
  const old = await client.atomic('kv', 0, 'CAS_U32', Number(offset), BigInt(version!), BigInt(version!) + 1n);
  console.log(old === BigInt(version!) ? 'locked' : `not locked: ${old}`);
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
