/* pi: midpoint-rule integral of 4/(1+x^2) split across ranks, combined with MPI_Reduce. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long n = 0;
  if (rank == 0) n = argc > 1 ? atol(argv[1]) : 1000000;
  MPI_Bcast(&n, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  double h = 1.0 / (double)n, sum = 0.0;
  for (long i = rank; i < n; i += size) {
    double x = h * ((double)i + 0.5);
    sum += 4.0 / (1.0 + x * x);
  }
  double mine = h * sum, pi = 0.0;
  MPI_Reduce(&mine, &pi, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("pi %.12f (n %ld, %d ranks)\n", pi, n, size);
  MPI_Finalize();
  return 0;
}
