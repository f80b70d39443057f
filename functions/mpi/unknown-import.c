/* unknown-import: calls an MPI function roam does not provide; loading must fail naming it. */
#include <mpi.h>
ROAM_MPI(MPI_Win_fence) int MPI_Win_fence(int assert_, MPI_Win win);
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Win_fence(0, MPI_WIN_NULL);
  MPI_Finalize();
  return 0;
}
