/* stencil: 2-D Jacobi relaxation on an N x N grid over a px x py process grid, with halo
 * exchange (rows contiguous, columns as an MPI_Type_vector) and row/column communicators
 * from MPI_Comm_split. Top edge held at 1.0. Prints the grid's sum and max.
 * Usage: stencil [N] [ITERS] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AT(a, i, j) (a)[(i) * (ly + 2) + (j)]

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int n = argc > 1 ? atoi(argv[1]) : 64, iters = argc > 2 ? atoi(argv[2]) : 100;
  int px = 1;
  for (int d = 1; d * d <= size; d++) if (size % d == 0) px = d;
  int py = size / px;
  if (n % px || n % py) {
    if (rank == 0) fprintf(stderr, "stencil: N=%d must divide by %d x %d\n", n, px, py);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  int pi = rank / py, pj = rank % py; /* process row, column */
  MPI_Comm row, col;
  MPI_Comm_split(MPI_COMM_WORLD, pi, pj, &row); /* ranks in my process row, ordered by column */
  MPI_Comm_split(MPI_COMM_WORLD, pj, pi, &col);
  int lx = n / px, ly = n / py;
  double *a = calloc((size_t)(lx + 2) * (ly + 2), sizeof(double));
  double *b = calloc((size_t)(lx + 2) * (ly + 2), sizeof(double));
  MPI_Datatype column;
  MPI_Type_vector(lx, 1, ly + 2, MPI_DOUBLE, &column);
  MPI_Type_commit(&column);
  int up = pi > 0 ? pi - 1 : MPI_PROC_NULL, down = pi < px - 1 ? pi + 1 : MPI_PROC_NULL;
  int left = pj > 0 ? pj - 1 : MPI_PROC_NULL, right = pj < py - 1 ? pj + 1 : MPI_PROC_NULL;
  if (pi == 0) for (int j = 0; j < ly + 2; j++) AT(a, 0, j) = AT(b, 0, j) = 1.0;
  for (int it = 0; it < iters; it++) {
    /* halos: rows with the column communicator, columns with the row communicator */
    MPI_Sendrecv(&AT(a, 1, 1), ly, MPI_DOUBLE, up, 1, &AT(a, lx + 1, 1), ly, MPI_DOUBLE, down, 1, col, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&AT(a, lx, 1), ly, MPI_DOUBLE, down, 2, &AT(a, 0, 1), ly, MPI_DOUBLE, up, 2, col, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&AT(a, 1, 1), 1, column, left, 3, &AT(a, 1, ly + 1), 1, column, right, 3, row, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&AT(a, 1, ly), 1, column, right, 4, &AT(a, 1, 0), 1, column, left, 4, row, MPI_STATUS_IGNORE);
    if (pi == 0) for (int j = 0; j < ly + 2; j++) AT(a, 0, j) = 1.0;
    for (int i = 1; i <= lx; i++)
      for (int j = 1; j <= ly; j++) AT(b, i, j) = 0.25 * (AT(a, i - 1, j) + AT(a, i + 1, j) + AT(a, i, j - 1) + AT(a, i, j + 1));
    double *t = a; a = b; b = t;
  }
  double sum = 0, mx = 0;
  for (int i = 1; i <= lx; i++)
    for (int j = 1; j <= ly; j++) {
      sum += AT(a, i, j);
      if (AT(a, i, j) > mx) mx = AT(a, i, j);
    }
  double gsum, gmax;
  MPI_Allreduce(&sum, &gsum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Reduce(&mx, &gmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("stencil %d %d grid %dx%d sum %.9f max %.9f\n", n, iters, px, py, gsum, gmax);
  MPI_Type_free(&column);
  MPI_Comm_free(&row);
  MPI_Comm_free(&col);
  free(a);
  free(b);
  MPI_Finalize();
  return 0;
}
