/* ping-pong between ranks 0 and 1 (latency, bandwidth) and MPI_Allreduce latency on all ranks.
 * Usage: pingpong [MAX_BYTES] [ITERS] [TARGET_MS]
 *   prints: "pingpong BYTES USEC_ONE_WAY MBPS" and "allreduce RANKS USEC".
 * With TARGET_MS, each size runs as many round trips as fill about that long (at least 10, measured
 * from its warm-up), so every size spans many scheduler ticks; without it, ITERS (ITERS/10 + 5 from
 * 64 KiB). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n round trips of `bytes` between ranks 0 and 1 (other ranks do nothing). */
static void round_trips(char *buf, long bytes, int n, int rank) {
  for (int i = 0; i < n; i++) {
    if (rank == 0) {
      MPI_Send(buf, (int)bytes, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
      MPI_Recv(buf, (int)bytes, MPI_BYTE, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (rank == 1) {
      MPI_Recv(buf, (int)bytes, MPI_BYTE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(buf, (int)bytes, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
    }
  }
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long max = argc > 1 ? atol(argv[1]) : 4 << 20;
  int iters0 = argc > 2 ? atoi(argv[2]) : 1000;
  double target = argc > 3 ? atof(argv[3]) / 1e3 : 0;
  char *buf = malloc(max > 0 ? max : 1);
  memset(buf, rank, max > 0 ? max : 1);
  /* Warm-up before any size is timed: 1-byte round trips for at least 0.3 s and 20 x ITERS of them
   * (rank 0 decides; the byte says whether to go on). A runtime with a JIT (Wasm, JS) compiles and
   * collects garbage on helper threads here; on a machine with as many cores as ranks those threads
   * take a core from a busy-polling rank for whole scheduler ticks (4 ms), which a few hundred
   * iterations of one size do not cover: the first sizes measured the warm-up (0-4 B slower than
   * 256 B). The count matters on a loaded machine, where 0.3 s holds few round trips and V8 only
   * optimizes the MPI imports after some thousands of calls (not with more ranks than cores, where
   * a round trip can take a scheduler tick). */
  if (size > 1 && rank < 2) {
    char go = 1;
    double w0 = MPI_Wtime();
    for (long n = 0; go; n++) {
      if (rank == 0) {
        go = MPI_Wtime() - w0 < 0.3 || (size == 2 && n < 20L * iters0);
        MPI_Send(&go, 1, MPI_BYTE, 1, 6, MPI_COMM_WORLD);
        MPI_Recv(&go, 1, MPI_BYTE, 1, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else {
        MPI_Recv(&go, 1, MPI_BYTE, 0, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(&go, 1, MPI_BYTE, 0, 6, MPI_COMM_WORLD);
      }
    }
  }
  for (long bytes = 0; bytes <= max; bytes = bytes ? bytes * 4 : 1) {
    int iters = bytes >= 65536 ? iters0 / 10 + 5 : iters0;
    int warm = iters / 4 + 10; /* per size: lazy connections, protocol switches, caches */
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    round_trips(buf, bytes, warm, rank);
    if (target > 0) { /* rank 0's estimate decides for all */
      double rtt = (MPI_Wtime() - t0) / warm;
      long n = rtt > 0 ? (long)(target / rtt) : 1000000;
      iters = n < 10 ? 10 : n > 2000000 ? 2000000 : (int)n;
      MPI_Bcast(&iters, 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    t0 = MPI_Wtime();
    round_trips(buf, bytes, iters, rank);
    double us = (MPI_Wtime() - t0) * 1e6 / iters / 2;
    if (rank == 0) printf("pingpong %ld %.3f %.1f\n", bytes, us, us > 0 ? bytes / us : 0.0);
    if (bytes == max) break;
    if (bytes * 4 > max && bytes != max) bytes = max / 4; /* always end at max */
  }
  double x = rank, y = 0;
  int iters = iters0;
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int i = 0; i < iters; i++) MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  double us = (MPI_Wtime() - t0) * 1e6 / iters;
  if (rank == 0) printf("allreduce %d %.3f (sum %g)\n", size, us, y);
  free(buf);
  MPI_Finalize();
  return 0;
}
