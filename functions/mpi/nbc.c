/* nbc: self-checking exercise of MPI-3's nonblocking collectives (and the blocking ones they
 * mirror: Reduce_scatter_block, Alltoallw, Reduce_local) on any number of ranks. Several are
 * in flight at once and completed out of order; an Ibarrier overlaps point-to-point traffic (the
 * NBX pattern: Issend + Iprobe until the barrier completes). Prints "nbc ok: N ranks". */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int n = size, *in = malloc(4 * n * n), *out = malloc(4 * n * n), *counts = malloc(4 * n), *displs = malloc(4 * n);
  MPI_Request r[8];

  /* four in flight at once, waited for in reverse order */
  int b = rank == 1 % size ? 42 : -1, s = rank + 1, sum = 0, mx = 0, pre = 0;
  MPI_Ibcast(&b, 1, MPI_INT, 1 % size, MPI_COMM_WORLD, &r[0]);
  MPI_Iallreduce(&s, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[1]);
  MPI_Ireduce(&s, &mx, 1, MPI_INT, MPI_MAX, 0, MPI_COMM_WORLD, &r[2]);
  MPI_Iscan(&s, &pre, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[3]);
  for (int i = 3; i >= 0; i--) MPI_Wait(&r[i], MPI_STATUS_IGNORE);
  CHECK(b == 42 && sum == n * (n + 1) / 2 && pre == (rank + 1) * (rank + 2) / 2);
  if (rank == 0) CHECK(mx == n);
  int ex = -7;
  MPI_Iexscan(&s, &ex, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[0]);
  MPI_Waitall(1, r, MPI_STATUSES_IGNORE);
  if (rank > 0) CHECK(ex == rank * (rank + 1) / 2);

  /* gather / scatter (and v) */
  int mine = rank * 3;
  MPI_Igather(&mine, 1, MPI_INT, out, 1, MPI_INT, 0, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  if (rank == 0) for (int i = 0; i < n; i++) CHECK(out[i] == i * 3);
  for (int i = 0; i < n; i++) { counts[i] = i + 1; displs[i] = i * n; }
  for (int i = 0; i <= rank; i++) in[i] = rank * 100 + i;
  MPI_Igatherv(in, rank + 1, MPI_INT, out, counts, displs, MPI_INT, 0, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  if (rank == 0) for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) CHECK(out[i * n + j] == i * 100 + j);
  for (int i = 0; i < n; i++) in[i] = i * 7;
  int one = -1;
  MPI_Iscatter(in, 1, MPI_INT, &one, 1, MPI_INT, 0, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  CHECK(one == rank * 7);
  for (int i = 0; i < n * n; i++) in[i] = i;
  memset(out, 0, 4 * n * n);
  MPI_Iscatterv(in, counts, displs, MPI_INT, out, rank + 1, MPI_INT, 0, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  for (int j = 0; j <= rank; j++) CHECK(out[j] == rank * n + j);

  /* allgather(v), alltoall(v/w) */
  MPI_Iallgather(&mine, 1, MPI_INT, out, 1, MPI_INT, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  for (int i = 0; i < n; i++) CHECK(out[i] == i * 3);
  for (int i = 0; i <= rank; i++) in[i] = rank * 100 + i;
  MPI_Iallgatherv(in, rank + 1, MPI_INT, out, counts, displs, MPI_INT, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) CHECK(out[i * n + j] == i * 100 + j);
  for (int i = 0; i < n; i++) in[i] = rank * 1000 + i;
  MPI_Ialltoall(in, 1, MPI_INT, out, 1, MPI_INT, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  for (int i = 0; i < n; i++) CHECK(out[i] == i * 1000 + rank);
  int *sc = malloc(4 * n), *sd = malloc(4 * n), *rc = malloc(4 * n), *rd = malloc(4 * n);
  for (int i = 0; i < n; i++) { sc[i] = i + 1; sd[i] = i * n; rc[i] = rank + 1; rd[i] = i * n; }
  for (int i = 0; i < n * n; i++) in[i] = rank * 1000 + i;
  MPI_Ialltoallv(in, sc, sd, MPI_INT, out, rc, rd, MPI_INT, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  for (int i = 0; i < n; i++) for (int j = 0; j <= rank; j++) CHECK(out[i * n + j] == i * 1000 + rank * n + j);
  MPI_Datatype *types = malloc(sizeof(MPI_Datatype) * n);
  for (int i = 0; i < n; i++) { types[i] = MPI_INT; sc[i] = 1; sd[i] = 4 * i; rc[i] = 1; rd[i] = 4 * (n - 1 - i); }
  for (int i = 0; i < n; i++) in[i] = rank * 10 + i;
  MPI_Alltoallw(in, sc, sd, types, out, rc, rd, types, MPI_COMM_WORLD);
  for (int i = 0; i < n; i++) CHECK(out[n - 1 - i] == i * 10 + rank);
  memset(out, 0, 4 * n);
  MPI_Ialltoallw(in, sc, sd, types, out, rc, rd, types, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  for (int i = 0; i < n; i++) CHECK(out[n - 1 - i] == i * 10 + rank);

  /* reduce_scatter(_block), reduce_local */
  for (int i = 0; i < 2 * n; i++) in[i] = i;
  int rs[2];
  MPI_Ireduce_scatter_block(in, rs, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  CHECK(rs[0] == 2 * rank * n && rs[1] == (2 * rank + 1) * n);
  MPI_Reduce_scatter_block(in, rs, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  CHECK(rs[0] == 2 * rank * n && rs[1] == (2 * rank + 1) * n);
  for (int i = 0; i < n; i++) counts[i] = 1;
  MPI_Ireduce_scatter(in, rs, counts, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  CHECK(rs[0] == rank * n);
  double x[3] = {1, 2, 3}, y[3] = {10, 20, 30};
  MPI_Reduce_local(x, y, 3, MPI_DOUBLE, MPI_SUM);
  CHECK(y[0] == 11 && y[2] == 33);
  int commute = 0;
  MPI_Op_commutative(MPI_SUM, &commute);
  CHECK(commute == 1);

  /* NBX: synchronous sends to the right, probe-and-receive until the Ibarrier completes */
  int token = rank, got = 0, received = 0, done = 0, barrier_started = 0;
  MPI_Request sreq, breq;
  MPI_Issend(&token, 1, MPI_INT, (rank + 1) % n, 9, MPI_COMM_WORLD, &sreq);
  while (!done) {
    int flag;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, 9, MPI_COMM_WORLD, &flag, &st);
    if (flag) {
      MPI_Recv(&got, 1, MPI_INT, st.MPI_SOURCE, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      received++;
    }
    if (barrier_started) MPI_Test(&breq, &done, MPI_STATUS_IGNORE);
    else {
      int sent;
      MPI_Test(&sreq, &sent, MPI_STATUS_IGNORE);
      if (sent) { MPI_Ibarrier(MPI_COMM_WORLD, &breq); barrier_started = 1; }
    }
  }
  CHECK(received == 1 && got == (rank + n - 1) % n);

  /* a nonblocking collective on a split communicator, overlapping one on the world */
  MPI_Comm half;
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
  int hs = 0, ws = 0;
  MPI_Iallreduce(&s, &hs, 1, MPI_INT, MPI_SUM, half, &r[0]);
  MPI_Iallreduce(&s, &ws, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[1]);
  int idx, flag;
  MPI_Waitany(2, r, &idx, MPI_STATUS_IGNORE);
  MPI_Testall(2, r, &flag, MPI_STATUSES_IGNORE);
  if (!flag) MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
  int expect = 0;
  for (int i = rank % 2; i < n; i += 2) expect += i + 1;
  CHECK(hs == expect && ws == n * (n + 1) / 2);
  MPI_Comm_free(&half);

  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) printf("nbc ok: %d ranks\n", n);
  MPI_Finalize();
  return 0;
}
