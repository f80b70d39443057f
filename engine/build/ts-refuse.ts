/**
 * Build-time refusal of what a QuickJS guest cannot honour. A message runs to completion synchronously
 * inside a fuel budget, so nothing may run after it returns (async/await, Promise, timers, microtasks);
 * code is fixed at deploy (no eval, Function constructor, dynamic import); no threads or Wasm of its own.
 * Checked on the type-stripped JavaScript of each of the project's own files.
 */
import { parse } from 'acorn';

export interface Refusal {
  what: string;
  why: string;
  line: number;
  snippet: string;
}

const ASYNC = 'a message runs to completion synchronously; nothing may run after the reply (use plain functions)';
const DYNAMIC = 'code is fixed when the bundle is deployed (the engine evaluates no new code)';
const TIMERS = 'a message has no event loop after it returns: there are no timers or microtasks';

/** Globals a guest may not name, and why. */
const GLOBALS: Record<string, string> = {
  Promise: ASYNC,
  eval: DYNAMIC,
  Function: DYNAMIC,
  setTimeout: TIMERS,
  setInterval: TIMERS,
  setImmediate: TIMERS,
  queueMicrotask: TIMERS,
  require: 'guests are bundled at build time: import modules statically',
  WebAssembly: 'a guest cannot compile or run Wasm of its own',
  SharedArrayBuffer: 'a guest has no threads; share state through regions',
  Atomics: 'a guest has no threads; use the region atomics of roam/guest',
  fetch: 'guests reach other functions through chains, not fetch',
};

type Node = { type: string; start: number; end: number; [k: string]: unknown };

/** The refusals in one file's JavaScript (empty = fine). */
export function refusals(js: string): Refusal[] {
  const out: Refusal[] = [];
  let ast: Node;
  try {
    ast = parse(js, { ecmaVersion: 'latest', sourceType: 'module', locations: false }) as unknown as Node;
  } catch (e) {
    return [{ what: 'syntax', why: (e as Error).message, line: 0, snippet: '' }];
  }
  const lineOf = (pos: number) => js.slice(0, pos).split('\n').length;
  const add = (n: Node, what: string, why: string) => {
    const line = lineOf(n.start);
    out.push({ what, why, line, snippet: js.split('\n')[line - 1]!.trim().slice(0, 100) });
  };
  const walk = (n: Node, parent: Node | null, key: string) => {
    switch (n.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        if (n.async) add(n, '`async` function', ASYNC);
        break;
      case 'AwaitExpression':
        add(n, '`await`', ASYNC);
        break;
      case 'ForOfStatement':
        if (n.await) add(n, '`for await`', ASYNC);
        break;
      case 'ImportExpression':
        add(n, 'dynamic `import()`', DYNAMIC);
        break;
      case 'Identifier': {
        const why = GLOBALS[n.name as string];
        // A property name (`x.eval`, `{ Promise: 1 }`) is not the global.
        const isProp = parent && ((parent.type === 'MemberExpression' && key === 'property' && !parent.computed) || (parent.type === 'Property' && key === 'key' && !parent.computed) || parent.type === 'MethodDefinition' || parent.type === 'PropertyDefinition');
        if (why && !isProp) add(n, `\`${n.name as string}\``, why);
        break;
      }
    }
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v)) for (const c of v) isNode(c) && walk(c, n, k);
      else if (isNode(v)) walk(v, n, k);
    }
  };
  walk(ast, null, '');
  return out;
}

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && typeof (v as Node).type === 'string';
