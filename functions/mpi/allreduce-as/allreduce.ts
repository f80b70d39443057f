// allreduce (AssemblyScript): every rank contributes [rank, 1, rank*rank] as f64 and checks the
// element-wise sums with MPI_Allreduce, then a MAX over an i32 with MPI_IN_PLACE.
import {
  MPI_Init, MPI_Finalize, MPI_Allreduce, MPI_COMM_WORLD, MPI_DOUBLE, MPI_INT, MPI_SUM, MPI_MAX, MPI_IN_PLACE,
  rank, size, print, exit,
} from "../../../guest-sdk/assembly/mpi";

export function _start(): void {
  MPI_Init(0, 0);
  const me = rank(), n = size();
  const send = new StaticArray<f64>(3);
  const recv = new StaticArray<f64>(3);
  send[0] = <f64>me; send[1] = 1; send[2] = <f64>(me * me);
  MPI_Allreduce(changetype<usize>(send), changetype<usize>(recv), 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  let sq = 0;
  for (let r = 0; r < n; r++) sq += r * r;
  const ok = recv[0] == <f64>((n * (n - 1)) / 2) && recv[1] == <f64>n && recv[2] == <f64>sq;
  const m = new StaticArray<i32>(1);
  m[0] = me * 7;
  MPI_Allreduce(MPI_IN_PLACE, changetype<usize>(m), 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (!ok || m[0] != (n - 1) * 7) {
    print("allreduce-as: rank " + me.toString() + " got a wrong result");
    exit(1);
  }
  if (me == 0) print("allreduce-as ok: " + n.toString() + " ranks, sum " + recv[0].toString() + ", max " + m[0].toString());
  MPI_Finalize();
}
