// The client place's side of `connect(url, { rdma: true })`, in the thread that runs the guest: its own
// UCX worker (one per thread), an endpoint per server worker, and per bundle a RemoteIo over the keys
// RDMA_INFO gave (remote-io.ts), in place of frames on the wire connection.
import { isRoamError } from '../errors.ts';
import type { RdmaDeploy, RegionPath } from '../client/client-io.ts';
import type { RdmaEndpoint, RemoteRegion } from './endpoint.ts';
import { rdmaRemoteIo, type RemoteIo } from './remote-io.ts';
import { RdmaWorker } from './worker.ts';

export class RdmaClientSide {
  private readonly endpoints = new Map<string, RdmaEndpoint>();
  private readonly bundles = new Map<number, { io: RemoteIo; regions: RemoteRegion[] }>();

  private constructor(private readonly worker: RdmaWorker) {}

  /** This thread's worker, or why there is none (addon not built, UCX failed to start). */
  static open(): { side: RdmaClientSide } | { error: string } {
    try {
      return { side: new RdmaClientSide(RdmaWorker.open()) };
    } catch (e) {
      return { error: `${isRoamError(e) ? e.code : 'E_RDMA'} ${(e as Error).message}` };
    }
  }

  descriptor(): { address: string; pid: number; host: string } {
    const d = this.worker.descriptor();
    return { address: Buffer.from(d.address).toString('hex'), pid: d.pid, host: d.host };
  }

  /** Unpacks a bundle's keys; on failure the bundle stays on the wire path, the reason returned. */
  deploy(bundle: number, d: RdmaDeploy): RegionPath {
    this.drop(bundle);
    try {
      let ep = this.endpoints.get(d.address);
      if (!ep || ep.failure) {
        ep?.close();
        ep = this.worker.connect({ address: new Uint8Array(Buffer.from(d.address, 'hex')), pid: d.pid, host: d.host });
        this.endpoints.set(d.address, ep);
      }
      const regions = d.keys.map((k) => ep.unpack(new Uint8Array(Buffer.from(k, 'hex'))));
      this.bundles.set(bundle, { io: rdmaRemoteIo(regions), regions });
      const modes = [...new Set(regions.map((r) => r.mode))].join('/') || 'no regions';
      return { path: 'ucx', reason: `UCX ${modes} over ${ep.lanes().all.join(' ') || 'no lanes yet'}` };
    } catch (e) {
      return { path: 'wire', reason: `UCX could not reach the server's regions: ${(e as Error).message}` };
    }
  }

  /** The bundle's RemoteIo over UCX, or undefined: the wire path. */
  io(bundle: number): RemoteIo | undefined {
    return this.bundles.get(bundle)?.io;
  }

  drop(bundle: number): void {
    const b = this.bundles.get(bundle);
    if (!b) return;
    this.bundles.delete(bundle);
    for (const r of b.regions) r.drop();
  }
}
