// engine/rdma's public face (README.md): workers, endpoints, regions and keys over UCX.
export { RdmaWorker, RdmaRegion, rdmaAvailable, hostId, type PeerDescriptor, type Done, type MessageHandler } from './worker.ts';
export { RdmaEndpoint, RemoteRegion, AtomicOp } from './endpoint.ts';
export { parseLanes, chooseMode, type AccessMode, type Lanes } from './transports.ts';
export { readRecord, SEQ_BUSY_MS } from './seqlock.ts';
export { rdmaRemoteIo, DEFAULT_OP_TIMEOUT_MS } from './remote-io.ts';
export { RDMA_ENV, ucxLoadError } from './addon.ts';
export { Status, statusCode } from './errors.ts';
