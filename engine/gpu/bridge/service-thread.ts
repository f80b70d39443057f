import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { isRoamError } from '../../errors.ts';
import { openDevice } from '../detect.ts';
import { GpuHost } from '../host.ts';
import type { Hello, Reply, Request, ServiceOptions } from './protocol.ts';

// One GpuHost for every client port. Clients block on a shared flag (Atomics.wait) while this
// thread's event loop runs the scheduler, so synchronous guest calls can wait for queued work.
const opts = workerData as ServiceOptions;
const hostReady = (async () => {
  const h = new GpuHost(await openDevice(opts.device, { threads: opts.threads, memoryBytes: opts.memoryBytes }), { windowMs: opts.windowMs, policy: opts.policy });
  await h.ready();
  return h;
})();
// A device that fails to open is reported to every request (E_GPU_NO_DEVICE …), not as a crash.
hostReady.catch(() => {});

function serve(port: MessagePort): void {
  let flag: Int32Array | undefined;
  port.on('message', async (m: Hello | Request) => {
    if ('flag' in m) {
      flag = new Int32Array(m.flag);
      return;
    }
    let reply: Reply;
    try {
      const host = await hostReady;
      const a = m.args as any[];
      let value: unknown;
      switch (m.op) {
        case 'info': value = host.device.info; break;
        case 'register': value = host.register(a[0], a[1]); break;
        case 'create': value = host.createBuffer(a[0], a[1]); break;
        case 'destroy': value = host.destroyBuffer(a[0], a[1]); break;
        case 'release': value = host.release(a[0], a[1]); break;
        case 'write': value = await host.write(a[0], a[1], a[2], a[3]); break;
        case 'read': value = await host.read(a[0], a[1], a[2], a[3]); break;
        case 'compile': value = await host.compile(a[0], a[1], a[2], a[3]); break;
        case 'dispatch': value = await host.dispatch(a[0], a[1], a[2], a[3]); break;
        case 'stats': value = host.stats(); break;
      }
      reply = { id: m.id, ok: true, value };
    } catch (e) {
      reply = { id: m.id, ok: false, code: isRoamError(e) ? e.code : 'E_GPU', message: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(reply);
    Atomics.store(flag!, 0, 1);
    Atomics.notify(flag!, 0);
  });
}

parentPort!.on('message', (m: { port?: MessagePort; close?: boolean }) => {
  if (m.port) serve(m.port);
  if (m.close) void hostReady.then((h) => h.close(), () => {}).finally(() => process.exit(0));
});
