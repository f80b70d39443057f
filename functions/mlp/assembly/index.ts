// A small MLP (16 → 32 → 32 → 4, relu, softmax) running on roam:gpu. The weights and the activation
// buffers are allocated once per instance and stay on the device (activations grow to the largest
// batch seen); each call uploads its inputs, runs the layers as kernels and downloads the class
// probabilities: 11 host calls per inference.
import { inputPtr, output, fail, replyString, request, respond, Response } from "roam";
import { GpuBuffer, Kernel, matmul, binary, unary, softmax, deviceKind } from "roam/gpu";
import { LAYERS, W0, B0, W1, B1, W2, B2 } from "./weights";

const IN: i32 = 16;
const OUT: i32 = 4;
const MAX_ROWS: i32 = 256;

let weights: GpuBuffer[] = [];
/** Input, then per layer: pre-activation, with bias, activation. Sized for `capacity` rows. */
let scratch: GpuBuffer[] = [];
let capacity: i32 = 0;

function ensureBuffers(rows: i32): void {
  if (weights.length == 0) weights = [GpuBuffer.from(W0), GpuBuffer.from(B0), GpuBuffer.from(W1), GpuBuffer.from(B1), GpuBuffer.from(W2), GpuBuffer.from(B2)];
  if (rows <= capacity) return;
  for (let i = 0; i < scratch.length; i++) scratch[i].free();
  scratch = [GpuBuffer.create(rows * IN)];
  for (let l = 0; l < 3; l++) for (let j = 0; j < 3; j++) scratch.push(GpuBuffer.create(rows * LAYERS[l + 1]));
  capacity = rows;
}

/** Runs the network on `rows` inputs at `ptr` (f32, row-major); returns rows × 4 probabilities. */
function forward(ptr: usize, rows: i32): StaticArray<f32> {
  ensureBuffers(rows);
  let h = scratch[0];
  h.uploadRaw(ptr, rows * IN);
  for (let l = 0; l < 3; l++) {
    const fin = LAYERS[l], fout = LAYERS[l + 1];
    const z = scratch[1 + l * 3], zb = scratch[2 + l * 3], a = scratch[3 + l * 3];
    matmul(h, weights[l * 2], z, rows, fin, fout);
    binary(Kernel.ADD, z, weights[l * 2 + 1], zb, rows * fout, fout);
    if (l < 2) unary(Kernel.RELU, zb, a, rows * fout);
    else softmax(zb, a, rows, fout);
    h = a;
  }
  return h.download(rows * OUT);
}

/** Handler: input rows × 16 f32 (little-endian), reply rows × 4 f32 probabilities. */
export function infer(len: i32): i32 {
  if (len == 0 || len % (IN * 4) != 0) return fail(400, "input must be a whole number of rows of 16 f32 (64 bytes each)");
  const rows = len / (IN * 4);
  if (rows > MAX_ROWS) return fail(413, "at most 256 rows per call");
  const probs = forward(inputPtr(), rows);
  const n = rows * OUT * 4;
  memory.copy(output(n), changetype<usize>(probs), <usize>n);
  return n;
}

/** Handler: which device the kernels run on ("cpu" executor or "webgpu"). */
export function device(len: i32): i32 {
  return replyString(deviceKind());
}

/** Function: POST /fn/predict with a body of rows × 16 f32 → {"device":…,"classes":[…]}. */
export function predict(len: i32): i32 {
  const req = request(len);
  const n = req.body.length;
  if (n == 0 || n % (IN * 4) != 0 || n / (IN * 4) > MAX_ROWS) return respond(Response.json(400, '{"error":"body must be 1..256 rows of 16 little-endian f32"}'));
  const rows = n / (IN * 4);
  const probs = forward(req.body.dataStart, rows);
  let classes = "";
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < OUT; j++) if (probs[r * OUT + j] > probs[r * OUT + best]) best = j;
    classes += (r > 0 ? "," : "") + best.toString();
  }
  return respond(Response.json(200, '{"device":"' + deviceKind() + '","classes":[' + classes + "]}"));
}
