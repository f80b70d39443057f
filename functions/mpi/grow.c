/* grow: messages to and from memory that did not exist at the previous send or receive.
 * Each step grows linear memory (malloc of 1 MiB) on both ranks, then rank 0 sends a 64 B message
 * from the end of its new block and a whole 1 MiB block, rank 1 receives them at the end of its
 * own new block and checks every byte. The native wire keeps a pointer to the guest's memory and
 * its length; a stale one would fail (or send the wrong bytes). Prints "grow ok: N steps". */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK (1 << 20)

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int steps = argc > 1 ? atoi(argv[1]) : 6, bad = 0;
  unsigned char small[64];
  for (int s = 0; s < steps; s++) {
    unsigned char *b = malloc(BLOCK); /* past the end of memory as it was: memory.grow */
    unsigned char *tail = b + BLOCK - 64;
    if (rank == 0) {
      for (int i = 0; i < BLOCK; i++) b[i] = (unsigned char)(i * 7 + s);
      MPI_Send(tail, 64, MPI_BYTE, 1, s, MPI_COMM_WORLD);
      MPI_Send(b, BLOCK, MPI_BYTE, 1, s, MPI_COMM_WORLD);
      MPI_Recv(small, 64, MPI_BYTE, 1, s, MPI_COMM_WORLD, MPI_STATUS_IGNORE); /* old memory after a grow */
      for (int i = 0; i < 64; i++) bad += small[i] != (unsigned char)(i + s);
    } else if (rank == 1) {
      memset(b, 0, BLOCK);
      MPI_Status st;
      MPI_Recv(tail, 64, MPI_BYTE, 0, s, MPI_COMM_WORLD, &st);
      int n = 0;
      MPI_Get_count(&st, MPI_BYTE, &n);
      bad += n != 64 || st.MPI_SOURCE != 0 || st.MPI_TAG != s;
      for (int i = 0; i < 64; i++) bad += tail[i] != (unsigned char)((BLOCK - 64 + i) * 7 + s);
      MPI_Recv(b, BLOCK, MPI_BYTE, 0, s, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      for (int i = 0; i < BLOCK; i++) bad += b[i] != (unsigned char)(i * 7 + s);
      for (int i = 0; i < 64; i++) small[i] = (unsigned char)(i + s);
      MPI_Send(small, 64, MPI_BYTE, 0, s, MPI_COMM_WORLD);
    }
  }
  if (bad) printf("grow: rank %d: %d bad bytes\n", rank, bad);
  else if (rank == 0) printf("grow ok: %d steps\n", steps);
  MPI_Finalize();
  return bad ? 1 : 0;
}
