// Which transports UCX chose for an endpoint, and how roam reaches a remote region over them.
//
// 'rma': ucp_get/put/atomic_op_nbx. Native where the transport does one-sided access itself: verbs
//   (the NIC reads and writes the owner's memory, checking the rkey in hardware) and, on one machine,
//   posix/sysv shared memory for UCX-allocated regions (mapped into the client: 0.1 µs a read here).
// 'am':  a request the owner's addon answers in its active-message handler (bounds, key generation and
//   revocation checked there, no JS). Used where UCX would emulate one-sided access in software
//   through the owner anyway: over TCP (ucx_perftest ucp_get ≈ 1.1 ms, am ≈ 6.5 µs here) and for
//   registered (not UCX-allocated) memory over shared memory, which only cma can reach, and UCX
//   1.13 uses cma for large transfers only. UCX's emulation also writes and reads whatever address
//   the client names (rma_sw.c carries no rkey check): the owner's check is the only one there.
// README.md has the measured figures.

export type AccessMode = 'rma' | 'am';

/** Transports ("tcp/lo", "posix/memory", "rc_mlx5/mlx5_0:1") per kind of lane. */
export interface Lanes {
  rma: string[];
  amo: string[];
  am: string[];
  /** Every transport the endpoint uses. */
  all: string[];
}

const LANE = /lane\[\d+\]:\s+\d+:(\S+?)(?:\.\d+)?\s+md\[\d+\].*?->\s+\S+\s+(.*)$/;

/** Parses ucp_ep_print_info: `lane[0]:  3:sysv/memory.0 md[2] -> md[2]/sysv/sysdev[255] amo#0 am am_bw#0`. */
export function parseLanes(info: string): Lanes {
  const out: Lanes = { rma: [], amo: [], am: [], all: [] };
  for (const line of info.split('\n')) {
    const m = LANE.exec(line);
    if (!m) continue;
    const tl = m[1]!, tags = m[2]!.split(/\s+/);
    const add = (list: string[]) => { if (!list.includes(tl)) list.push(tl); };
    add(out.all);
    for (const t of tags) {
      if (/^rma(_bw)?#/.test(t)) add(out.rma);
      else if (/^amo#/.test(t)) add(out.amo);
      else if (t === 'am' || /^am_bw#/.test(t)) add(out.am);
    }
  }
  return out;
}

const SHM = /^(posix|sysv|xpmem)\//;
const SOFTWARE = /^(tcp|sockcm|self)\//;

/** The access mode for a key: see the top of this file. `allocated`: the key's memory came from UCX. */
export function chooseMode(lanes: Lanes, allocated: boolean): AccessMode {
  const oneSided = [...lanes.rma, ...lanes.amo];
  if (oneSided.some((t) => SHM.test(t))) return allocated ? 'rma' : 'am';
  if (oneSided.some((t) => !SOFTWARE.test(t) && !/^cma\//.test(t))) return 'rma';  // verbs and the like
  return 'am';
}
