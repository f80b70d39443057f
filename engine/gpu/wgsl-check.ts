import { RoamError } from '../errors.ts';

/**
 * A structural check of a user WGSL kernel before any device sees it: balanced brackets, a
 * `@compute` entry point with the given name, bindings only in group 0. It catches malformed
 * sources with a clear line on every device; the webgpu device then compiles for real.
 */
export function checkWgsl(source: string, entryPoint: string): void {
  const bad = (msg: string): never => {
    throw new RoamError('E_GPU_WGSL', `malformed WGSL kernel: ${msg}`);
  };
  if (source.length === 0) bad('empty source');
  if (source.length > 256 * 1024) bad(`source is ${source.length} bytes (max 262144)`);
  const code = source.replace(/\/\/[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: Array<{ c: string; line: number }> = [];
  let line = 1;
  for (const c of code) {
    if (c === '\n') line++;
    else if (c === '(' || c === '[' || c === '{') stack.push({ c, line });
    else if (c in pairs) {
      const top = stack.pop();
      if (!top || top.c !== pairs[c]) bad(`unbalanced '${c}' on line ${line}`);
    }
  }
  if (stack.length) bad(`'${stack[stack.length - 1]!.c}' opened on line ${stack[stack.length - 1]!.line} is never closed`);
  const entry = new RegExp(`@compute[\\s\\S]*?fn\\s+${entryPoint.replace(/[^A-Za-z0-9_]/g, '')}\\s*\\(`);
  if (!entry.test(code)) bad(`no @compute function named '${entryPoint}'`);
  if (!/@workgroup_size\s*\(/.test(code)) bad('the entry point has no @workgroup_size');
  for (const m of code.matchAll(/@group\s*\(\s*(\d+)\s*\)/g)) if (m[1] !== '0') bad(`bindings must be in @group(0), found @group(${m[1]})`);
}
