import { BroadcastChannel, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { isRoamError } from '../../errors.ts';
import { openDevice } from '../detect.ts';
import { GpuHost } from '../host.ts';
import { CHANNEL, type Hello, type Reply, type Request, type ServiceOptions } from './protocol.ts';

// One GpuHost for every client. Clients block on a shared flag (Atomics.wait) while this thread's
// event loop runs the scheduler, so synchronous guest calls can wait for queued work.
const opts = workerData as ServiceOptions;
const hostReady = (async () => {
  const h = new GpuHost(await openDevice(opts.device, { threads: opts.threads, memoryBytes: opts.memoryBytes }), { windowMs: opts.windowMs, policy: opts.policy, maxBatch: opts.maxBatch });
  await h.ready();
  return h;
})();
// A device that fails to open is reported to every request (E_GPU_NO_DEVICE …), not as a crash.
hostReady.catch(() => {});

async function handle(m: Request): Promise<Reply> {
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
      case 'quota': value = host.setQuota(a[0], a[1]); break;
    }
    return { id: m.id, ok: true, value };
  } catch (e) {
    return { id: m.id, ok: false, code: isRoamError(e) ? e.code : 'E_GPU', message: e instanceof Error ? e.message : String(e) };
  }
}

function wake(flag: Int32Array | undefined): void {
  if (!flag) return; // an async client (no flag) listens for the message instead
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

/** A client on its own MessagePort (the main thread, or a thread handed a port). */
function serve(port: MessagePort): void {
  let flag: Int32Array | undefined;
  port.on('message', async (m: Hello | Request) => {
    if ('flag' in m) return void (flag = new Int32Array(m.flag));
    port.postMessage(await handle(m));
    wake(flag);
  });
}

interface ChannelClient {
  thread: number;
  requests: BroadcastChannel;
  replies: BroadcastChannel;
  flag: Int32Array;
  /** Buffers this client created and still holds (id → function), freed if its thread exits. */
  buffers: Map<number, string>;
}

/** Keeps a client's buffer list in step with a request it made. */
function track(c: ChannelClient, m: Request, r: Reply): void {
  if (!r.ok) return;
  const a = m.args as any[];
  if (m.op === 'create') c.buffers.set(r.value as number, a[0]);
  else if (m.op === 'destroy') c.buffers.delete(a[1]);
  else if (m.op === 'release') for (const id of a[1] as number[]) c.buffers.delete(id);
}

const channelClients = new Map<string, ChannelClient>();

/**
 * The process channel: any thread reaches this service without being handed a port (gateway and
 * host-pool workers). A client says hello with its name (`pid:threadId:n`); it then has a request
 * and a reply channel of its own.
 */
function serveProcessChannel(): void {
  const hello = new BroadcastChannel(CHANNEL.hello);
  hello.unref();
  hello.onmessage = (ev) => {
    const m = (ev as { data: Hello }).data;
    if (!m.hello) return;
    let c = channelClients.get(m.hello);
    if (!c) {
      const names = CHANNEL.client(m.hello);
      const client: ChannelClient = (c = { thread: Number(m.hello.split(':')[1]), requests: new BroadcastChannel(names.requests), replies: new BroadcastChannel(names.replies), flag: new Int32Array(m.flag), buffers: new Map() });
      client.requests.onmessage = async (e) => {
        const req = (e as { data: Request }).data;
        const r = await handle(req);
        track(client, req, r);
        client.replies.postMessage(r);
        wake(client.flag);
      };
      for (const ch of [client.requests, client.replies]) ch.unref();
      channelClients.set(m.hello, client);
    }
    c.replies.postMessage({ id: 0, ok: true, value: 'welcome' } satisfies Reply);
    wake(c.flag);
  };
}

/**
 * A thread exited (the main thread watches its workers): free what its clients still held. A
 * terminated worker (watchdog, crash) runs no cleanup of its own, and its buffers would otherwise
 * count against the function's memory cap for good.
 */
async function threadExited(thread: number): Promise<void> {
  const host = await hostReady.catch(() => undefined);
  for (const [name, c] of channelClients) {
    if (c.thread !== thread) continue;
    const byFn = new Map<string, number[]>();
    for (const [id, fn] of c.buffers) byFn.set(fn, [...(byFn.get(fn) ?? []), id]);
    for (const [fn, ids] of byFn) host?.release(fn, ids);
    c.requests.close();
    c.replies.close();
    channelClients.delete(name);
  }
}

if (opts.shared) serveProcessChannel();

parentPort!.on('message', (m: { port?: MessagePort; close?: boolean; exited?: number }) => {
  if (m.port) serve(m.port);
  if (m.exited !== undefined) void threadExited(m.exited);
  if (m.close) void hostReady.then((h) => h.close(), () => {}).finally(() => process.exit(0));
});
