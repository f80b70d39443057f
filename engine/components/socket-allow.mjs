// wasi:sockets for a component, restricted (issue 19): preview2-shim lets a guest that declares the
// capability reach any address the server can, the server's own ports and cloud metadata (169.254.169.254)
// included. Here every outgoing TCP connection and UDP destination must fall in the operator's allow-list
// (`roam serve --remote-allow` IPs and CIDR ranges, as for remote chain steps); none by default. Listening
// is refused (a guest must not open server ports), and so are name lookups when nothing is allowed (DNS
// queries carry data out too). A refusal is the WASI error `access-denied` for the guest and a log line
// naming the address for the operator.
import { BlockList } from 'node:net';

/** `{ tag: 'ipv4', val: { address: [a,b,c,d], port } }` (or ipv6, eight u16) → [text address, family, port]. */
function textOf(addr) {
  const v = addr?.val;
  if (!v || !Array.isArray(v.address)) return ['?', 'ipv4', 0];
  if (addr.tag === 'ipv4') return [v.address.join('.'), 'ipv4', v.port];
  return [v.address.map((x) => x.toString(16)).join(':'), 'ipv6', v.port];
}

/** Entries (IP or CIDR; host names are skipped: sockets connect to addresses) → a BlockList of allowed ranges. */
export function allowList(entries) {
  const list = new BlockList();
  let any = false;
  for (const e of entries ?? []) {
    const [ip, prefix] = e.split('/');
    const family = ip.includes(':') ? 'ipv6' : /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? 'ipv4' : null;
    if (!family) continue;
    list.addSubnet(ip.replace(/^\[|\]$/g, ''), prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix), family);
    any = true;
  }
  return { list, any };
}

/** Patches the shim's socket classes in this worker: call once, before the component is instantiated. */
export function confineSockets(sockets, entries, log, bundle) {
  const { list, any } = allowList(entries);
  const check = (addr, what) => {
    const [ip, family, port] = textOf(addr);
    if (any && list.check(ip, family)) return;
    log(`wasi:sockets: component '${bundle}' ${what} ${ip}:${port} refused: not in the server's --remote-allow list (${entries?.length ? entries.join(', ') : 'empty'})`);
    throw 'access-denied';
  };
  const { TcpSocket } = sockets.tcp;
  const connect = TcpSocket.prototype.startConnect;
  TcpSocket.prototype.startConnect = function (network, remote) {
    check(remote, 'connect to');
    return connect.call(this, network, remote);
  };
  TcpSocket.prototype.startListen = () => {
    log(`wasi:sockets: component '${bundle}' may not listen`);
    throw 'access-denied';
  };
  const { UdpSocket, OutgoingDatagramStream } = sockets.udp;
  const stream = UdpSocket.prototype.stream;
  UdpSocket.prototype.stream = function (remote) {
    if (remote) check(remote, 'send to');
    return stream.call(this, remote);
  };
  const send = OutgoingDatagramStream.prototype.send;
  OutgoingDatagramStream.prototype.send = function (datagrams) {
    for (const d of datagrams ?? []) if (d?.remoteAddress) check(d.remoteAddress, 'send to');
    return send.call(this, datagrams);
  };
  const resolve = sockets.ipNameLookup.resolveAddresses;
  sockets.ipNameLookup.resolveAddresses = function (network, name) {
    if (!any) {
      log(`wasi:sockets: component '${bundle}' looked up '${name}' refused: the server allows no address (--remote-allow)`);
      throw 'access-denied';
    }
    return resolve.call(this, network, name);
  };
  return sockets;
}
