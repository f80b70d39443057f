// Starts test/helpers/rdma-peer.ts (optionally inside a network namespace) and talks to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export type Msg = Record<string, unknown>;

export interface Peer {
  hello: { pid: number; host: string; address: string; key: string };
  child: ChildProcess;
  /** Sends a command; resolves with the first later line that `until` accepts (default: any non-event). */
  call(cmd: Msg, until?: (m: Msg) => boolean): Promise<Msg>;
  /** The first line (already seen or still to come) that `pred` accepts. */
  next(pred: (m: Msg) => boolean): Promise<Msg>;
  exited: Promise<number | null>;
  stderr(): string;
}

export async function startPeer(env: Record<string, string> = {}, netns?: string): Promise<Peer> {
  const args = ['--import', 'tsx', 'test/helpers/rdma-peer.ts'];
  const [cmd, argv] = netns ? ['ip', ['netns', 'exec', netns, process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdin!.on('error', () => {}); // the peer may be killed on purpose
  const seen: Msg[] = [];
  const waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as Msg;
    const i = waiters.findIndex((w) => w.pred(m));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
    else seen.push(m);
  });
  const next = (pred: (m: Msg) => boolean): Promise<Msg> => {
    const i = seen.findIndex(pred);
    if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      waiters.push({ pred, resolve });
      void exited.then((code) => reject(new Error(`peer exited (${code}) before answering: ${err.slice(-2000)}`)));
    });
  };
  const notEvent = (m: Msg) => !('event' in m) && !('writerDone' in m);
  const hello = (await next((m) => 'ready' in m)) as unknown as Peer['hello'];
  return {
    hello,
    child,
    next,
    exited,
    stderr: () => err,
    call(c, until = notEvent) {
      child.stdin!.write(JSON.stringify(c) + '\n');
      return next(until);
    },
  };
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
