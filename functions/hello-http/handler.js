// A wasi:http component function in plain JavaScript. It implements wasi:http/incoming-handler
// itself, on the resources of wasi:http/types, so any wasi:http host (wasmtime serve, jco serve, roam)
// can serve it: `roam build functions/hello-http` componentizes it against the wasi:http/proxy world
// ("world" in roam.json). It does not use StarlingMonkey's `fetch` event, which serves one request
// per instance (see engine/components/README.md).
import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from 'wasi:http/types@0.2.10';

const enc = new TextEncoder();
const dec = new TextDecoder();

function readBody(request) {
  const stream = request.consume().stream();
  const chunks = [];
  for (;;) {
    try {
      chunks.push(stream.blockingRead(65536n));
    } catch (e) {
      if (e?.payload?.tag === 'closed') break; // end of the body
      throw e;
    }
  }
  stream[Symbol.dispose]?.();
  return dec.decode(join(chunks));
}

function join(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

export const incomingHandler = {
  handle(request, responseOut) {
    const path = (request.pathWithQuery() ?? '/').split('?')[0];
    const who = path.length > 1 ? path.slice(1) : 'world';
    const method = request.method().tag === 'other' ? request.method().val : request.method().tag.toUpperCase();
    const reply = { greeting: `hello, ${who}`, method };
    const body = readBody(request);
    if (body.length > 0) reply.body = body;

    const headers = new Fields();
    headers.append('content-type', enc.encode('application/json'));
    const echo = request.headers().get('x-echo');
    if (echo.length > 0) headers.append('x-echo', echo[0]);
    const response = new OutgoingResponse(headers);
    response.setStatusCode(method === 'POST' ? 201 : 200);
    const out = response.body();
    ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
    const stream = out.write();
    stream.blockingWriteAndFlush(enc.encode(JSON.stringify(reply)));
    stream[Symbol.dispose]?.();
    OutgoingBody.finish(out, undefined);
  },
};
