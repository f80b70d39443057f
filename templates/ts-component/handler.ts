// A roam function in TypeScript: `roam build .` bundles it with componentize-js into a WebAssembly
// component (world roam:function/function). The types in roam-function.d.ts let an editor check it.
import type { RoamFunction } from './roam-function';

const fn: RoamFunction = {
  fetch(request) {
    const who = request.path.length > 1 ? request.path.slice(1) : 'world';
    console.log(`greet ${who}`);
    return { status: 200, body: { greeting: `hello, ${who}`, method: request.method } };
  },
};
export default fn;
