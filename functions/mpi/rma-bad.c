/* rma-bad: one erroneous one-sided call, chosen by argv[1], on rank 0 (2 ranks); roam must end
 * the job with a clear MPI error naming the call, never a crash or a stray write:
 *   win     MPI_Put on a window handle that was never created
 *   freed   MPI_Put on a window after MPI_Win_free
 *   range   MPI_Put past the end of rank 1's 64-byte window
 *   neg     MPI_Get at a negative displacement
 *   sync    MPI_Put with no access epoch open
 *   lock    MPI_Win_lock with an invalid lock type
 *   unlock  MPI_Win_unlock of a rank that is not locked */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, buf[16] = {0}, v[4] = {1, 2, 3, 4};
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const char *mode = argc > 1 ? argv[1] : "";
  MPI_Win w;
  MPI_Win_create(buf, 64, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &w);
  MPI_Win_fence(0, w);
  if (rank == 0) {
    if (!strcmp(mode, "win")) MPI_Put(v, 1, MPI_INT, 1, 0, 1, MPI_INT, (MPI_Win)0x7777);
    if (!strcmp(mode, "range")) MPI_Put(v, 4, MPI_INT, 1, 14, 4, MPI_INT, w);
    if (!strcmp(mode, "neg")) MPI_Get(v, 1, MPI_INT, 1, -2, 1, MPI_INT, w);
  }
  MPI_Win_fence(MPI_MODE_NOSUCCEED, w);
  if (rank == 0) {
    if (!strcmp(mode, "sync")) MPI_Put(v, 1, MPI_INT, 1, 0, 1, MPI_INT, w);
    if (!strcmp(mode, "lock")) MPI_Win_lock(7, 1, 0, w);
    if (!strcmp(mode, "unlock")) MPI_Win_unlock(1, w);
  }
  MPI_Win dead = w;
  MPI_Win_free(&w);
  if (rank == 0 && !strcmp(mode, "freed")) MPI_Put(v, 1, MPI_INT, 1, 0, 1, MPI_INT, dead);
  if (rank == 0) printf("rma-bad: %s did not fail\n", mode);
  MPI_Finalize();
  return 0;
}
