/* unknown-import: calls an MPI function roam does not provide; loading must fail naming it. */
#include <mpi.h>
ROAM_MPI(MPI_File_close) int MPI_File_close(MPI_File *fh);
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_File f = MPI_FILE_NULL;
  MPI_File_close(&f);
  MPI_Finalize();
  return 0;
}
