import { BroadcastChannel, isMainThread, receiveMessageOnPort, threadId, type MessagePort } from 'node:worker_threads';
import { RoamError } from '../../errors.ts';
import { GpuClient, sharedGpuService } from './client.ts';
import { CHANNEL, type Reply } from './protocol.ts';

let seq = 0;

/**
 * A synchronous client of the process-wide service from any thread, without a port: requests go over
 * the process channel, replies over a channel named for this client. Introduces itself until the
 * service answers (asking the main thread to start it meanwhile) or `timeoutMs` passes.
 */
export function connectProcessChannel(timeoutMs = 60_000): GpuClient {
  const name = `${process.pid}:${threadId}:${seq++}`;
  const ch = CHANNEL.client(name);
  const replies = new BroadcastChannel(ch.replies);
  const requests = new BroadcastChannel(ch.requests);
  const hello = new BroadcastChannel(CHANNEL.hello);
  const boot = new BroadcastChannel(CHANNEL.boot);
  for (const c of [replies, requests]) c.unref();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  try {
    for (let attempt = 0; ; attempt++) {
      Atomics.store(flag, 0, 0);
      hello.postMessage({ flag: flag.buffer, hello: name });
      if (attempt % 5 === 0) boot.postMessage('start');
      Atomics.wait(flag, 0, 0, 200);
      let m: { message: Reply } | undefined;
      while ((m = receiveMessageOnPort(replies as unknown as MessagePort) as typeof m)) if (m!.message.id === 0) break;
      if (m) break;
      if (Date.now() > deadline) {
        throw new RoamError('E_GPU_NO_SERVICE', `no gpu service answered within ${timeoutMs} ms: the process's main thread must load the engine (it starts the service when a worker asks)`);
      }
    }
  } finally {
    // Shared channels are closed at once: a channel object nobody reads would still receive every
    // other thread's hellos. Welcomes to repeated hellos arrive with id 0; GpuClient skips them.
    hello.close();
    boot.close();
  }
  return new GpuClient({ send: (m) => requests.postMessage(m), replies: replies as unknown as MessagePort }, flag);
}

let processClient: GpuClient | undefined;

/** This thread's client of the process-wide service: over a port on the main thread, the process channel elsewhere. */
export function sharedGpuClient(): GpuClient {
  return isMainThread ? sharedGpuService().connect() : (processClient ??= connectProcessChannel());
}
