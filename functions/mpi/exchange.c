/* Head-to-head exchange: ranks 0 and 1 both send first, then receive (a pattern that relies on the
 * MPI buffering the sends; natively it deadlocks once the message is too large to send eagerly).
 * Usage: exchange BYTES [ROUNDS]; prints "exchange BYTES ok" when every received byte is the peer's. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int n = argc > 1 ? atoi(argv[1]) : 4096, rounds = argc > 2 ? atoi(argv[2]) : 50;
  if (size != 2) {
    if (rank == 0) fprintf(stderr, "exchange needs 2 ranks\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  char *out = malloc(n), *in = malloc(n);
  int peer = 1 - rank, bad = 0;
  for (int r = 0; r < rounds; r++) {
    memset(out, 'a' + (rank * 7 + r) % 26, n);
    MPI_Send(out, n, MPI_BYTE, peer, r, MPI_COMM_WORLD);
    MPI_Recv(in, n, MPI_BYTE, peer, r, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (int i = 0; i < n; i++) bad += in[i] != 'a' + (peer * 7 + r) % 26;
  }
  if (bad) printf("rank %d: %d bytes wrong\n", rank, bad);
  else if (rank == 0) printf("exchange %d ok\n", n);
  free(out);
  free(in);
  MPI_Finalize();
  return bad ? 1 : 0;
}
