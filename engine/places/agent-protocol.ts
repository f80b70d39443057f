// Control messages between the server and a DPU agent: newline-delimited JSON over a local socket.
// Message bytes never travel here; they sit in the shm slot table, and `run`/`done` carry slot indexes.
import type net from 'node:net';
import type { MailboxShape } from './mailbox.ts';

export type ToAgent =
  | { t: 'init'; mailbox: string; shape: MailboxShape }
  | { t: 'deploy'; id: number; bytes: string; regions: Record<string, { shm: string; size: number }> }
  | { t: 'undeploy'; id: number; regions: string[] }
  | { t: 'run'; s: number[] };
export type FromAgent = { t: 'ready'; pid: number } | { t: 'done'; s: number[]; busyNs: number } | { t: 'mem'; loaded: number; modules: number };

export function sendLine(sock: net.Socket, m: ToAgent | FromAgent): void {
  if (!sock.destroyed) sock.write(JSON.stringify(m) + '\n');
}

export function onLines<T>(sock: net.Socket, fn: (m: T) => void): void {
  let rest = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p) fn(JSON.parse(p) as T);
  });
}
