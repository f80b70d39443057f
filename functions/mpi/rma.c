/* rma: self-checking exercise of one-sided communication on any number of ranks >= 2.
 * Windows from MPI_Win_create and MPI_Win_allocate; fence, lock/unlock (exclusive and shared),
 * lock_all with every flush, post/start/complete/wait (and Win_test); Put, Get, Accumulate,
 * Get_accumulate, Fetch_and_op, Compare_and_swap; atomicity of accumulates from every rank at
 * once; window attributes and group. Prints "rma ok: N ranks" on rank 0, else names the check. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#define ROUNDS 50

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int right = (rank + 1) % size, left = (rank + size - 1) % size;

  /* fence epochs: each rank puts its row into its right neighbour, gets from its left */
  int buf[16], got[16];
  for (int i = 0; i < 16; i++) buf[i] = -1;
  MPI_Win w;
  MPI_Win_create(buf, sizeof buf, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &w);
  int row[4] = {rank, rank * 10, rank * 100, rank * 1000};
  MPI_Win_fence(MPI_MODE_NOPRECEDE, w);
  MPI_Put(row, 4, MPI_INT, right, 4, 4, MPI_INT, w);
  MPI_Win_fence(0, w);
  CHECK(buf[4] == left && buf[5] == left * 10 && buf[7] == left * 1000 && buf[0] == -1 && buf[8] == -1);
  MPI_Get(got, 4, MPI_INT, left, 4, 4, MPI_INT, w); /* left's slot 4 holds left-1's row */
  MPI_Win_fence(MPI_MODE_NOSUCCEED, w);
  int ll = (left + size - 1) % size;
  CHECK(got[0] == ll && got[3] == ll * 1000);

  /* linear memory grows (malloc past its end) while the window is open: later operations still land in it */
  char *big = malloc(8 << 20);
  CHECK(big != NULL);
  memset(big, 1, 8 << 20);

  /* strided target: every other int of slots 8..15 (a vector type on the target side) */
  MPI_Datatype every2;
  MPI_Type_vector(4, 1, 2, MPI_INT, &every2);
  MPI_Type_commit(&every2);
  MPI_Win_fence(0, w);
  MPI_Put(row, 4, MPI_INT, right, 8, 1, every2, w);
  MPI_Win_fence(0, w);
  CHECK(buf[8] == left && buf[9] == -1 && buf[10] == left * 10 && buf[14] == left * 1000 && buf[15] == -1);

  /* accumulate from every rank into rank 0, many times: atomic per element */
  MPI_Win_fence(0, w);
  if (rank == 0) for (int i = 0; i < 16; i++) buf[i] = 0;
  MPI_Win_fence(0, w);
  int ones[16];
  for (int i = 0; i < 16; i++) ones[i] = i + 1;
  for (int k = 0; k < ROUNDS; k++) MPI_Accumulate(ones, 16, MPI_INT, 0, 0, 16, MPI_INT, MPI_SUM, w);
  MPI_Win_fence(0, w);
  if (rank == 0) for (int i = 0; i < 16; i++) CHECK(buf[i] == ROUNDS * size * (i + 1));
  MPI_Win_fence(MPI_MODE_NOSUCCEED, w);

  /* passive target: exclusive locks around read-modify-write of rank 0's counter (buf[0]) */
  if (rank == 0) buf[0] = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  for (int k = 0; k < ROUNDS; k++) {
    int v;
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, w);
    MPI_Get(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, w);
    MPI_Win_flush(0, w);
    v += 1;
    MPI_Put(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, w);
    MPI_Win_unlock(0, w);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, w);
    CHECK(buf[0] == ROUNDS * size);
    MPI_Win_unlock(0, w);
  }

  /* fetch-and-op ticket counter and compare-and-swap election on rank 0's buf[1], buf[2] */
  if (rank == 0) { buf[1] = 0; buf[2] = -1; }
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Win_lock_all(0, w);
  int one = 1, prev = -5, seen[ROUNDS];
  for (int k = 0; k < ROUNDS; k++) {
    MPI_Fetch_and_op(&one, &seen[k], MPI_INT, 0, 1, MPI_SUM, w);
    MPI_Win_flush(0, w);
  }
  for (int k = 1; k < ROUNDS; k++) CHECK(seen[k] > seen[k - 1]);
  int me = rank, minus = -1;
  MPI_Compare_and_swap(&me, &minus, &prev, MPI_INT, 0, 2, w);
  MPI_Win_flush_all(w);
  MPI_Win_flush_local(0, w);
  MPI_Win_flush_local_all(w);
  MPI_Win_sync(w);
  MPI_Win_unlock_all(w);
  int winners = prev == -1, all_winners;
  MPI_Allreduce(&winners, &all_winners, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  CHECK(all_winners == 1);
  if (rank == 0) { CHECK(buf[1] == ROUNDS * size && buf[2] >= 0 && buf[2] < size); }

  /* get_accumulate: swap in (MPI_REPLACE) and read back (MPI_NO_OP) */
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Win_lock(MPI_LOCK_EXCLUSIVE, right, 0, w);
  int mine[2] = {rank + 7, rank + 8}, old[2], now[2];
  MPI_Get_accumulate(mine, 2, MPI_INT, old, 2, MPI_INT, right, 12, 2, MPI_INT, MPI_REPLACE, w);
  MPI_Get_accumulate(NULL, 0, MPI_INT, now, 2, MPI_INT, right, 12, 2, MPI_INT, MPI_NO_OP, w);
  MPI_Win_unlock(right, w);
  CHECK(now[0] == rank + 7 && now[1] == rank + 8);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(buf[12] == left + 7 && buf[13] == left + 8);

  /* attributes and group */
  MPI_Aint *wsize;
  int *unit, *model, flag;
  void *base;
  MPI_Win_get_attr(w, MPI_WIN_BASE, &base, &flag);
  CHECK(flag && base == buf);
  MPI_Win_get_attr(w, MPI_WIN_SIZE, &wsize, &flag);
  CHECK(flag && *wsize == sizeof buf);
  MPI_Win_get_attr(w, MPI_WIN_DISP_UNIT, &unit, &flag);
  CHECK(flag && *unit == sizeof(int));
  MPI_Win_get_attr(w, MPI_WIN_MODEL, &model, &flag);
  CHECK(flag && *model == MPI_WIN_UNIFIED);
  MPI_Group g;
  int gs;
  MPI_Win_get_group(w, &g);
  MPI_Group_size(g, &gs);
  CHECK(gs == size);
  MPI_Group_free(&g);
  MPI_Win_free(&w);
  CHECK(w == MPI_WIN_NULL);

  /* MPI_Win_allocate + post/start/complete/wait: rank 0 exposes to everyone, all others put their rank */
  double *mem;
  MPI_Win_allocate(size * sizeof(double), sizeof(double), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &w);
  MPI_Group world, others, zero;
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  int zr = 0;
  MPI_Group_incl(world, 1, &zr, &zero);
  int n_others = size - 1, *ids = malloc(sizeof(int) * size);
  for (int i = 0; i < n_others; i++) ids[i] = i + 1;
  MPI_Group_incl(world, n_others, ids, &others);
  for (int round = 0; round < 3; round++) {
    if (rank == 0) {
      for (int i = 0; i < size; i++) mem[i] = 0;
      MPI_Win_post(others, 0, w);
      if (round == 2) {
        int done = 0;
        while (!done) MPI_Win_test(w, &done);
      } else MPI_Win_wait(w);
      for (int i = 1; i < size; i++) CHECK(mem[i] == i * 1.5 + round);
    } else {
      double v = rank * 1.5 + round;
      MPI_Win_start(zero, 0, w);
      MPI_Put(&v, 1, MPI_DOUBLE, 0, rank, 1, MPI_DOUBLE, w);
      MPI_Win_complete(w);
    }
  }
  MPI_Group_free(&world); MPI_Group_free(&others); MPI_Group_free(&zero);
  MPI_Win_free(&w);

  /* MPI_Alloc_mem, MPI_Get_address */
  int *am;
  MPI_Alloc_mem(64, MPI_INFO_NULL, &am);
  MPI_Aint a0, a1;
  MPI_Get_address(&am[0], &a0);
  MPI_Get_address(&am[3], &a1);
  CHECK(MPI_Aint_diff(a1, a0) == 3 * sizeof(int) && MPI_Aint_add(a0, 12) == a1);
  MPI_Free_mem(am);
  MPI_Type_free(&every2);
  free(big);

  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) printf("rma ok: %d ranks\n", size);
  MPI_Finalize();
  return 0;
}
