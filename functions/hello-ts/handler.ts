// A roam component function in plain TypeScript: `roam build functions/hello-ts` bundles it
// with componentize-js into a WebAssembly component (world roam:function/function).
interface RoamRequest {
  method: string;
  path: string;
  headers: Map<string, string>;
  text(): string;
}

export default {
  fetch(request: RoamRequest) {
    const who = request.path.length > 1 ? request.path.slice(1) : 'world';
    console.log(`greet ${who}`);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: { greeting: `hello, ${who}`, method: request.method } };
  },
};
