// The DPU agent: a separate process that maps the server's regions and slot table through POSIX shm and
// runs the slots the server rings for. On a real DPU the same code runs on its Arm cores.
import net from 'node:net';
import { openShm } from '../shm/index.ts';
import { Mailbox } from './mailbox.ts';
import { SlotRunner } from './slot-runner.ts';
import { onLines, sendLine, type ToAgent } from './agent-protocol.ts';
import { log as engineLog } from '../observe/log.ts';

export async function runAgent(host: string, port: number): Promise<void> {
  const sock = net.connect(port, host);
  sock.setNoDelay(true);
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  // After connecting, a reset from the server ends the agent through 'close' (below), with a line saying why.
  sock.on('error', (e) => engineLog('error', `dpu-agent: connection to ${host}:${port} failed`, { message: e.message }));
  const runner = new SlotRunner();
  let mb: Mailbox | undefined;
  let memSeen = -1;
  // What the agent holds (bundles compiled, modules cached), sent when it changed: the server's STATS shows it.
  const publishMemory = () => {
    if (runner.changes === memSeen) return;
    memSeen = runner.changes;
    const m = runner.memory();
    sendLine(sock, { t: 'mem', loaded: m.loaded, modules: m.modules });
  };
  onLines<ToAgent>(sock, (m) => {
    if (m.t === 'init') mb = new Mailbox(openShm(m.mailbox, m.shape.slots * m.shape.slotSize), m.shape);
    else if (m.t === 'deploy') {
      const regions: Record<string, ArrayBufferLike> = {};
      for (const [k, r] of Object.entries(m.regions)) regions[k] = openShm(r.shm, r.size);
      runner.deploy({ id: m.id, bytes: Buffer.from(m.bytes, 'base64'), regions });
      publishMemory();
    } else if (m.t === 'undeploy') {
      runner.undeploy({ id: m.id, bytes: new Uint8Array(0), regions: Object.fromEntries(m.regions.map((k) => [k, new ArrayBuffer(0)])) });
      publishMemory();
    } else if (m.t === 'run') {
      for (const s of m.s) runner.run(mb!, s);
      sendLine(sock, { t: 'done', s: m.s, busyNs: runner.busyNs });
      publishMemory();
    }
  });
  sendLine(sock, { t: 'ready', pid: process.pid });
  await new Promise((res) => sock.once('close', res));
}
