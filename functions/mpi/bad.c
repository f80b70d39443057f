/* bad: faults for roam's tests. Usage: bad MODE where MODE is one of
 * oob, count, handle, trap, load, exit, deadlock, mismatch, truncate, abort, start, bsend, iroot, request.
 * Rank 1 misbehaves (deadlock: both ranks receive first; mismatch: rank 0 waits for tag 7 from rank 1,
 * which sends tag 9 synchronously). */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "oob") && rank == 1) MPI_Send((void *)0x7ffffff0, 4, MPI_INT, 0, 0, MPI_COMM_WORLD);
  if (!strcmp(mode, "count") && rank == 1) MPI_Send(x, 1 << 28, MPI_INT, 0, 0, MPI_COMM_WORLD);
  if (!strcmp(mode, "handle") && rank == 1) MPI_Send(x, 1, MPI_INT, 0, 0, (MPI_Comm)0x7777);
  if (!strcmp(mode, "trap") && rank == 1) __builtin_trap();
  if (!strcmp(mode, "load") && rank == 1) x[0] = *(volatile int *)0x7ffffff0; /* past linear memory */
  if (!strcmp(mode, "exit") && rank == 1) return 3;
  if (!strcmp(mode, "abort") && rank == 1) MPI_Abort(MPI_COMM_WORLD, 7);
  if (!strcmp(mode, "start") && rank == 1) {
    MPI_Request r;
    MPI_Irecv(x, 1, MPI_INT, 0, 5, MPI_COMM_WORLD, &r);
    MPI_Start(&r); /* not a persistent request */
  }
  if (!strcmp(mode, "bsend") && rank == 1) MPI_Bsend(x, 8, MPI_INT, 0, 0, MPI_COMM_WORLD); /* no buffer attached */
  if (!strcmp(mode, "iroot")) {
    MPI_Request r;
    MPI_Ibcast(x, 1, MPI_INT, rank == 1 ? 5 : 0, MPI_COMM_WORLD, &r); /* rank 1 names a root outside the job */
    if (rank == 0) MPI_Wait(&r, MPI_STATUS_IGNORE);
  }
  if (!strcmp(mode, "request") && rank == 1) {
    MPI_Request r = (MPI_Request)0x6666;
    MPI_Wait(&r, MPI_STATUS_IGNORE);
  }
  if (!strcmp(mode, "deadlock")) MPI_Recv(x, 1, MPI_INT, MPI_ANY_SOURCE, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (!strcmp(mode, "mismatch")) {
    if (rank == 0) MPI_Recv(x, 1, MPI_INT, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (rank == 1) MPI_Ssend(x, 1, MPI_INT, 0, 9, MPI_COMM_WORLD);
  }
  if (!strcmp(mode, "truncate")) {
    if (rank == 0) MPI_Send(x, 8, MPI_INT, 1, 0, MPI_COMM_WORLD);
    if (rank == 1) MPI_Recv(x, 4, MPI_INT, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
