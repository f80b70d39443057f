// A WebAssembly component for the standard wasi:http/proxy world, in plain JavaScript: it implements
// wasi:http/incoming-handler on the resources of wasi:http/types, so any wasi:http host (wasmtime serve,
// jco serve, roam) can serve it. `roam build .` componentizes it (componentize-js).
import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from 'wasi:http/types@0.2.10';

const enc = new TextEncoder();

export const incomingHandler = {
  handle(request, responseOut) {
    const path = (request.pathWithQuery() ?? '/').split('?')[0];
    const who = path.length > 1 ? path.slice(1) : 'world';
    const headers = new Fields();
    headers.append('content-type', enc.encode('application/json'));
    const response = new OutgoingResponse(headers);
    response.setStatusCode(200);
    const body = response.body();
    ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
    const stream = body.write();
    stream.blockingWriteAndFlush(enc.encode(JSON.stringify({ greeting: `hello, ${who}` })));
    stream[Symbol.dispose]?.();
    OutgoingBody.finish(body, undefined);
  },
};
