/**
 * Tasks on the host workers: function and chain runs (engine/http) go to the same worker threads that
 * run handler messages off their rings, so one pool of host cores serves both. A task is one message to
 * one worker and its result one message back; the task module (what runs a task) is named by URL and
 * loaded by each worker, so this layer knows nothing of what a task is.
 */
import type { Worker } from 'node:worker_threads';

/** The module a worker loads to run tasks: it exports `createTaskRunner(init)`. */
export interface TaskModule {
  url: string;
  init: unknown;
}

/** What a task module's runner returns for one task: the reply, and buffers to transfer with it. */
export interface TaskOutcome {
  reply: unknown;
  transfer?: ArrayBuffer[];
}

export type TaskToWorker = { type: 'tasks'; url: string; init: unknown } | { type: 'task'; id: number; task: unknown };
export type TaskFromWorker = { type: 'result'; id: number; reply?: unknown; error?: string };

interface Waiter {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** One worker's tasks in flight: sends them and settles each with its result (or the worker's death). */
export class TaskChannel {
  private readonly waiting = new Map<number, Waiter>();

  constructor(readonly worker: Worker) {
    worker.on('message', (m: TaskFromWorker) => {
      if (m?.type !== 'result') return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve(m.reply);
    });
  }

  get outstanding(): number {
    return this.waiting.size;
  }

  run(id: number, task: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'task', id, task } satisfies TaskToWorker);
    });
  }

  /** The worker is gone: every task it held fails (the caller decides: a watchdog's kill, a crash). */
  fail(reason: string): void {
    for (const w of this.waiting.values()) w.reject(new Error(reason));
    this.waiting.clear();
  }
}

/** Worker side: loads the task module once and runs tasks as they come (queued until it has loaded). */
export class TaskHost {
  private runner: ((task: unknown) => TaskOutcome) | undefined;
  private early: Array<{ id: number; task: unknown }> = [];

  constructor(private readonly post: (m: TaskFromWorker, transfer?: ArrayBuffer[]) => void) {}

  load(url: string, init: unknown): void {
    import(url).then(
      (mod: { createTaskRunner(init: unknown): (task: unknown) => TaskOutcome }) => {
        this.runner = mod.createTaskRunner(init);
        for (const t of this.early.splice(0)) this.run(t.id, t.task);
      },
      (e: Error) => {
        for (const t of this.early.splice(0)) this.post({ type: 'result', id: t.id, error: `task module failed to load: ${e.message}` });
      },
    );
  }

  run(id: number, task: unknown): void {
    if (!this.runner) return void this.early.push({ id, task });
    let out: TaskOutcome;
    try {
      out = this.runner(task);
    } catch (e) {
      return this.post({ type: 'result', id, error: (e as Error)?.message ?? String(e) });
    }
    this.post({ type: 'result', id, reply: out.reply }, out.transfer);
  }
}
